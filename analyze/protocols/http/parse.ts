import type { GappedStream } from '../gappedStream.js';
import type { MessageType, ParseResult } from '../types.js';
import type { HttpMessage } from './types.js';

// RFC 9110 section 9 methods plus PATCH (RFC 5789).
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'] as const;
/** Longest header block we look for an end in; real servers cap at 8-64 KiB too. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** First slice of a head read; most heads fit. */
const HEAD_READ_START = 2048;
/** Longest chunk-size line (RFC 9112 7.1: hex size plus optional extensions). */
const MAX_CHUNK_LINE = 1024;
/** Captured body bytes kept on a frame for content ids. */
export const BODY_SAMPLE_BYTES = 2048;
const CRLF = '\r\n';
const START_LINE_REQUEST = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/;
const START_LINE_RESPONSE = /^(HTTP\/1\.[01]) (\d{3})(?: .*)?$/;
const BOUNDARY_REQUEST = new RegExp(`(?:${METHODS.join('|')}) \\S+ HTTP/1\\.[01]\\r\\n`, 'g');
const BOUNDARY_RESPONSE = /HTTP\/1\.[01] \d{3}[ \r]/g;

const latin1 = new TextDecoder('latin1');

/** Does `head` start an HTTP/1.x request or response? */
export function classifyHttp(head: Uint8Array): MessageType | null {
  const s = latin1.decode(head.subarray(0, 16));
  if (/^HTTP\/1\.[01] \d/.test(s)) return 'response';
  for (const m of METHODS) if (s.startsWith(`${m} `) && s.length > m.length + 1) return 'request';
  return null;
}

/** Frames one HTTP/1.x message at `pos`; body lengths come from the headers, so bodies may lie in gaps. */
export function parseHttpFrame(stream: GappedStream, pos: number, type: MessageType): ParseResult<HttpMessage> {
  // Read the head in growing slices: a keep-alive stream holds many messages after this one.
  let want = HEAD_READ_START;
  let run = stream.contiguousAt(pos, want);
  let text = latin1.decode(run);
  let headEnd = text.indexOf('\r\n\r\n');
  while (headEnd < 0 && run.length === want && want < MAX_HEAD_BYTES) {
    want = Math.min(MAX_HEAD_BYTES, want * 4);
    run = stream.contiguousAt(pos, want);
    text = latin1.decode(run);
    headEnd = text.indexOf('\r\n\r\n');
  }
  const lineEnd = text.indexOf(CRLF);
  const startLine = lineEnd >= 0 ? text.slice(0, lineEnd) : null;
  if (startLine !== null) {
    if (!(type === 'request' ? START_LINE_REQUEST : START_LINE_RESPONSE).test(startLine)) {
      return { state: 'invalid', reason: `not an HTTP ${type} line: ${JSON.stringify(startLine.slice(0, 40))}` };
    }
  } else if (!plausibleStartPrefix(text, type)) {
    return { state: 'invalid', reason: `not an HTTP ${type} start` };
  }
  const reachedEnd = pos + run.length >= stream.length;
  if (headEnd < 0) {
    if (run.length >= MAX_HEAD_BYTES) return { state: 'invalid', reason: 'header block too long' };
    if (reachedEnd) return { state: 'needs-more-data' };
    // The head was cut by the snaplen: end the frame where the next message of this type starts (wait for it
    // while the stream still grows).
    const next = findHttpFrameBoundary(stream, pos + 1, type);
    if (next < 0 && !stream.final) return { state: 'needs-more-data' };
    const length = (next < 0 ? stream.length : next) - pos;
    return { state: 'ok', length, frame: build(stream, pos, length, type, text, startLine, false, length, false) };
  }
  const headLen = headEnd + 4;
  const msg = build(stream, pos, headLen, type, text.slice(0, headEnd), startLine, true, 0, false);
  const te = header(msg, 'transfer-encoding');
  const cl = header(msg, 'content-length');
  let bodyLen: number;
  if (type === 'response' && msg.status !== null && (msg.status < 200 || msg.status === 204 || msg.status === 304)) {
    bodyLen = 0;
  } else if (te !== null && /chunked\s*$/i.test(te)) {
    const r = chunkedLength(stream, pos + headLen);
    if (r === 'needs-more-data') return { state: 'needs-more-data' };
    if (r === 'invalid') return { state: 'invalid', reason: 'bad chunk size line' };
    if (r === 'gap') {
      // A chunk-size line fell in a gap: end at the next message of this type, as for a cut head.
      const next = findHttpFrameBoundary(stream, pos + headLen, type);
      if (next < 0 && !stream.final) return { state: 'needs-more-data' };
      bodyLen = (next < 0 ? stream.length : next) - pos - headLen;
    } else bodyLen = r;
    msg.chunked = true;
  } else if (cl !== null) {
    if (!/^\d{1,15}$/.test(cl.trim())) return { state: 'invalid', reason: `bad Content-Length ${JSON.stringify(cl)}` };
    bodyLen = Number(cl.trim());
  } else if (type === 'response') {
    // RFC 9112 6.3: no length -> the body runs until the connection closes.
    if (!stream.final) return { state: 'needs-more-data' };
    bodyLen = stream.length - pos - headLen;
  } else bodyLen = 0;
  // A response to HEAD has no body whatever its Content-Length says (RFC 9110 9.3.2); the parser does not see the
  // request, but the bytes say it: the server closed the connection right after the head it announced closing, or
  // the next response follows the head.
  if (type === 'response' && bodyLen > 0 && !msg.chunked) {
    const after = stream.contiguousAt(pos + headLen, 8);
    const ended = stream.final && pos + headLen === stream.length && /^close$/i.test(header(msg, 'connection') ?? '');
    if (ended || (after.length >= 7 && latin1.decode(after).startsWith('HTTP/1.'))) bodyLen = 0;
  }
  const length = headLen + bodyLen;
  if (pos + length > stream.length) return { state: 'needs-more-data' };
  msg.length = length;
  msg.bodyLength = bodyLen;
  msg.tsEndNs = stream.tsAt(pos + length - 1);
  msg.bodySample = stream.contiguousAt(pos + headLen, Math.min(bodyLen, BODY_SAMPLE_BYTES));
  return { state: 'ok', length, frame: msg };
}

/** The next stream position >= `pos` where an HTTP message of `type` starts, or -1. Scans captured bytes only. */
export function findHttpFrameBoundary(stream: GappedStream, pos: number, type: MessageType): number {
  let i = stream.chunkIndexAt(pos);
  if (i < 0) return -1;
  for (; i < stream.chunkCount; i++) {
    const start = stream.chunkStart(i);
    const from = Math.max(0, pos - start);
    const data = stream.chunk(i).data;
    if (from >= data.length) continue;
    const re = type === 'request' ? BOUNDARY_REQUEST : BOUNDARY_RESPONSE;
    re.lastIndex = 0;
    const m = re.exec(latin1.decode(data.subarray(from)));
    if (m) return start + from + m.index;
    // A start line cut at the end of this chunk's capture still counts if the chunk begins with it.
    if (from === 0 && classifyHttp(data) === type) return start;
  }
  return -1;
}

function plausibleStartPrefix(text: string, type: MessageType): boolean {
  if (type === 'response') return /^HTTP\/1\.[01](?: \d{0,3}|$)/.test(text) || 'HTTP/1.'.startsWith(text);
  return METHODS.some((m) => text.startsWith(`${m} `) || m.startsWith(text));
}

function header(msg: HttpMessage, name: string): string | null {
  for (const [k, v] of msg.headers) if (k === name) return v;
  return null;
}

function build(
  stream: GappedStream,
  pos: number,
  length: number,
  type: MessageType,
  head: string,
  startLine: string | null,
  headComplete: boolean,
  bodyLength: number,
  chunked: boolean,
): HttpMessage {
  const lines = head.split(CRLF);
  const first = startLine ?? lines[0] ?? '';
  let method: string | null = null;
  let target: string | null = null;
  let status: number | null = null;
  let version = 'HTTP/1.1';
  const rq = START_LINE_REQUEST.exec(first);
  const rs = START_LINE_RESPONSE.exec(first);
  if (type === 'request' && rq) [, method, target, version] = rq as unknown as [string, string, string, string];
  else if (type === 'request') method = /^[A-Z]+/.exec(first)?.[0] ?? null;
  if (type === 'response' && rs) {
    version = rs[1]!;
    status = Number(rs[2]);
  }
  const headers: [string, string][] = [];
  // A cut head's last line may be partial: keep only lines that ended before the cut.
  const complete = headComplete ? lines.slice(1) : lines.slice(1, -1);
  for (const line of complete) {
    const c = line.indexOf(':');
    if (c > 0) headers.push([line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim()]);
  }
  return {
    type,
    startPos: pos,
    tsStartNs: stream.tsAt(pos),
    tsEndNs: stream.tsAt(pos + length - 1),
    tid: stream.tidAt(pos),
    length,
    method,
    target,
    path: target === null ? null : target.split(/[?#]/, 1)[0]!,
    status,
    version,
    headers,
    bodyLength,
    chunked,
    headComplete,
    bodySample: new Uint8Array(0),
  };
}

/**
 * Wire length of a chunked body starting at `pos` (RFC 9112 7.1), stepping over chunk data by size so data in
 * gaps is fine; 'gap' when a size line itself was not captured.
 */
function chunkedLength(stream: GappedStream, pos: number): number | 'needs-more-data' | 'invalid' | 'gap' {
  let p = pos;
  for (;;) {
    if (p >= stream.length) return 'needs-more-data';
    const line = latin1.decode(stream.contiguousAt(p, MAX_CHUNK_LINE));
    const e = line.indexOf(CRLF);
    if (e < 0) {
      if (p + line.length >= stream.length) return 'needs-more-data';
      return line.length >= MAX_CHUNK_LINE ? 'invalid' : 'gap';
    }
    const sizeText = line.slice(0, e).split(';', 1)[0]!.trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) return 'invalid';
    const size = parseInt(sizeText, 16);
    p += e + 2;
    if (size === 0) {
      // Trailer fields, then an empty line.
      for (;;) {
        if (p >= stream.length) return 'needs-more-data';
        const t = latin1.decode(stream.contiguousAt(p, MAX_CHUNK_LINE));
        const te = t.indexOf(CRLF);
        if (te < 0) return p + t.length >= stream.length ? 'needs-more-data' : 'gap';
        p += te + 2;
        if (te === 0) return p - pos;
      }
    }
    p += size + 2;
  }
}
