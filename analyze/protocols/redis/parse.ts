/**
 * RESP framing (RESP2 and RESP3) over a gapped stream: one top-level value per frame.
 * Spec: https://redis.io/docs/latest/develop/reference/protocol-spec/
 *
 * Lengths from the protocol step over uncaptured bytes: a bulk string's `$<len>` header is enough to find the end of
 * a large value whose payload was not captured. When a gap hides the structure itself (an element header fell in
 * the gap), the frame is assumed to end with the syscall holding the gap (`lengthGuessed`).
 */
import { chunkEndAt, CR, findLineStart, LF, Stop } from '../bytes.js';
import type { GappedStream } from '../gappedStream.js';
import type { MessageType, ParseResult } from '../types.js';
import { MAX_ELEMENTS, MAX_VALUE_CHARS, type RedisFrame, type RespKind } from './types.js';

// Type markers (first byte of every value): https://redis.io/docs/latest/develop/reference/protocol-spec/#resp-protocol-description
const SIMPLE_STRING_MARKER = 0x2b; // '+'
const SIMPLE_ERROR_MARKER = 0x2d; // '-'
const INTEGER_MARKER = 0x3a; // ':'
const BULK_STRING_MARKER = 0x24; // '$'
const ARRAY_MARKER = 0x2a; // '*'
const NULL_MARKER = 0x5f; // '_' RESP3
const DOUBLE_MARKER = 0x2c; // ',' RESP3
const BOOLEAN_MARKER = 0x23; // '#' RESP3
const BULK_ERROR_MARKER = 0x21; // '!' RESP3
const VERBATIM_STRING_MARKER = 0x3d; // '=' RESP3
const BIG_NUMBER_MARKER = 0x28; // '(' RESP3
const MAP_MARKER = 0x25; // '%' RESP3
const SET_MARKER = 0x7e; // '~' RESP3
const PUSH_MARKER = 0x3e; // '>' RESP3
const ATTRIBUTE_MARKER = 0x7c; // '|' RESP3: metadata that precedes the real reply

const MARKER_KINDS: ReadonlyMap<number, RespKind> = new Map([
  [SIMPLE_STRING_MARKER, 'simple-string'],
  [SIMPLE_ERROR_MARKER, 'error'],
  [INTEGER_MARKER, 'integer'],
  [BULK_STRING_MARKER, 'bulk-string'],
  [ARRAY_MARKER, 'array'],
  [NULL_MARKER, 'null'],
  [DOUBLE_MARKER, 'double'],
  [BOOLEAN_MARKER, 'boolean'],
  [BULK_ERROR_MARKER, 'bulk-error'],
  [VERBATIM_STRING_MARKER, 'verbatim-string'],
  [BIG_NUMBER_MARKER, 'big-number'],
  [MAP_MARKER, 'map'],
  [SET_MARKER, 'set'],
  [PUSH_MARKER, 'push'],
]);

/** Longer size strings mean the bytes are not RESP (Pixie uses the same bound). */
const MAX_SIZE_DIGITS = 16;
/** Redis' default `proto-max-bulk-len` (512 MB): https://redis.io/docs/latest/operate/oss_and_stack/management/config-file/ */
const MAX_BULK_LENGTH = 512 * 1024 * 1024;
/** Redis' PROTO_INLINE_MAX_SIZE (64 KB), also used to bound simple-string lines. */
const MAX_LINE_LENGTH = 64 * 1024;
/** Deeper nesting is not produced by any command; it bounds recursion on garbage. */
const MAX_NESTING = 32;
/** Captured bytes read at once from the stream: small first (most values are short), doubling while a value goes on. */
const FIRST_READ_WINDOW = 64;
const MAX_READ_WINDOW = 64 * 1024;
const END_OF_STREAM = -1;
const UNCAPTURED = -2;

/** Byte reader over a gapped stream that caches one captured run at a time. */
class Cursor {
  private run: Uint8Array = new Uint8Array(0);
  private runStart = 0;
  private window = FIRST_READ_WINDOW;
  constructor(readonly stream: GappedStream) {}

  /** The byte at `pos`, or END_OF_STREAM / UNCAPTURED. */
  byteAt(pos: number): number {
    if (pos >= this.stream.length) return END_OF_STREAM;
    const i = pos - this.runStart;
    if (i >= 0 && i < this.run.length) return this.run[i]!;
    this.run = this.stream.contiguousAt(pos, this.window);
    this.runStart = pos;
    this.window = Math.min(MAX_READ_WINDOW, this.window * 2);
    return this.run.length > 0 ? this.run[0]! : UNCAPTURED;
  }

  /** Byte at `pos` that must exist and be captured (else stop). */
  need(pos: number): number {
    const b = this.byteAt(pos);
    if (b === END_OF_STREAM) throw new Stop('needs-more-data', pos);
    if (b === UNCAPTURED) throw new Stop('hidden', pos);
    return b;
  }

  /** Captured text of [from, to), at most MAX_VALUE_CHARS characters; stops at a gap. */
  text(from: number, to: number): string {
    const bytes = this.stream.contiguousAt(from, Math.min(to - from, MAX_VALUE_CHARS * 4));
    return decodeText(bytes).slice(0, MAX_VALUE_CHARS);
  }

  /** Reads a CRLF-terminated line from `from`; returns the position of its CR. */
  lineEnd(from: number, maxLength: number): number {
    for (let p = from; ; p++) {
      if (p - from > maxLength) throw new Stop('invalid', from, `line longer than ${maxLength} bytes`);
      const b = this.need(p);
      if (b === CR) {
        if (this.need(p + 1) !== LF) throw new Stop('invalid', p, 'CR not followed by LF');
        return p;
      }
      if (b === LF) throw new Stop('invalid', p, 'LF without CR');
    }
  }
}

const utf8 = new TextDecoder('utf-8');
function decodeText(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** What one parsed value contributes to its parent. */
interface Value {
  end: number;
  kind: RespKind;
  /** Text head for scalars, '[...]' for aggregates. */
  text: string;
  count: number | null;
}

const SIZE_PATTERN = /^-?[0-9]+$/;
const INTEGER_PATTERN = /^[-+]?[0-9]+$/;

function parseSize(c: Cursor, from: number, allowNull: boolean): { size: number; next: number } {
  const cr = c.lineEnd(from, MAX_SIZE_DIGITS);
  const s = c.text(from, cr);
  if (!SIZE_PATTERN.test(s)) throw new Stop('invalid', from, `size '${s}' is not an integer`);
  const size = Number(s);
  if (size < (allowNull ? -1 : 0)) throw new Stop('invalid', from, `size ${size} out of range`);
  return { size, next: cr + 2 };
}

/**
 * Parses the value at `pos`. `sink` (top level only) receives the text of each direct child element.
 * `requestArray`: the value is a request command, whose elements must be bulk strings.
 */
function parseValue(c: Cursor, pos: number, depth: number, sink: string[] | null, requestArray = false): Value {
  if (depth > MAX_NESTING) throw new Stop('invalid', pos, 'nesting too deep');
  const marker = c.need(pos);
  if (marker === ATTRIBUTE_MARKER) {
    const { size, next } = parseSize(c, pos + 1, false);
    let p = next;
    for (let i = 0; i < 2 * size; i++) p = parseValue(c, p, depth + 1, null).end;
    return parseValue(c, p, depth, sink);
  }
  const kind = MARKER_KINDS.get(marker);
  if (kind === undefined) throw new Stop('invalid', pos, `unknown type marker 0x${marker.toString(16)}`);
  switch (marker) {
    case SIMPLE_STRING_MARKER:
    case SIMPLE_ERROR_MARKER:
    case INTEGER_MARKER:
    case DOUBLE_MARKER:
    case BOOLEAN_MARKER:
    case BIG_NUMBER_MARKER:
    case NULL_MARKER: {
      const cr = c.lineEnd(pos + 1, MAX_LINE_LENGTH);
      const text = c.text(pos + 1, cr);
      if ((marker === INTEGER_MARKER || marker === BIG_NUMBER_MARKER) && !INTEGER_PATTERN.test(text))
        throw new Stop('invalid', pos, `integer '${text.slice(0, 20)}' is not a number`);
      if (marker === NULL_MARKER && cr !== pos + 1) throw new Stop('invalid', pos, 'null with content');
      if (marker === BOOLEAN_MARKER && text !== 't' && text !== 'f') throw new Stop('invalid', pos, 'bad boolean');
      return { end: cr + 2, kind, text, count: null };
    }
    case BULK_STRING_MARKER:
    case BULK_ERROR_MARKER:
    case VERBATIM_STRING_MARKER: {
      const { size, next } = parseSize(c, pos + 1, marker === BULK_STRING_MARKER);
      if (size === -1) return { end: next, kind: 'null', text: '', count: null };
      if (size > MAX_BULK_LENGTH) throw new Stop('invalid', pos, `bulk length ${size} over 512 MB`);
      const end = next + size + 2;
      // The terminator may sit in a gap (large value): then only the length vouches for the end.
      const cr = c.byteAt(end - 2);
      const lf = c.byteAt(end - 1);
      if (cr === END_OF_STREAM || lf === END_OF_STREAM) throw new Stop('needs-more-data', end);
      if ((cr !== UNCAPTURED && cr !== CR) || (lf !== UNCAPTURED && lf !== LF))
        throw new Stop('invalid', end - 2, 'bulk string not terminated by CRLF');
      return { end, kind, text: c.text(next, next + size), count: null };
    }
    default: {
      // Aggregates: array, map (count = pairs), set, push.
      const { size, next } = parseSize(c, pos + 1, marker === ARRAY_MARKER);
      if (size === -1) return { end: next, kind: 'null', text: '', count: -1 };
      const elements = marker === MAP_MARKER ? 2 * size : size;
      let p = next;
      for (let i = 0; i < elements; i++) {
        if (requestArray && c.need(p) !== BULK_STRING_MARKER)
          throw new Stop('invalid', p, 'request array element is not a bulk string');
        const child = parseValue(c, p, depth + 1, null);
        if (sink && sink.length < MAX_ELEMENTS) sink.push(child.text);
        p = child.end;
      }
      return { end: p, kind, text: '[...]', count: elements };
    }
  }
}

/** An inline command: words separated by spaces, ended by LF (CR optional). Requests only. */
function parseInline(c: Cursor, pos: number, sink: string[]): number {
  for (let p = pos; ; p++) {
    if (p - pos > MAX_LINE_LENGTH) throw new Stop('invalid', pos, 'inline command over 64 KB');
    const b = c.need(p);
    if (b === LF) {
      const lineEnd = p > pos && c.byteAt(p - 1) === CR ? p - 1 : p;
      for (const word of c.text(pos, lineEnd).split(' ')) {
        if (word !== '' && sink.length < MAX_ELEMENTS) sink.push(word);
      }
      return p + 1;
    }
    if (b < 0x20 && b !== CR && b !== 0x09) throw new Stop('invalid', p, 'control byte in inline command');
  }
}

function isLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

const REDACTED = '<redacted>';
/** Drops passwords a capture may have missed: AUTH's arguments, HELLO's `AUTH user pass`. */
function redactSecrets(values: string[]): void {
  const command = values[0]?.toUpperCase();
  if (command === 'AUTH') values.fill(REDACTED, 1);
  if (command === 'HELLO') {
    const auth = values.findIndex((v, i) => i > 0 && v.toUpperCase() === 'AUTH');
    if (auth > 0) values.fill(REDACTED, auth + 1, auth + 3);
  }
}

/**
 * Parses one top-level RESP value at `pos`. Requests must be arrays of bulk strings or inline commands;
 * responses may be any RESP2/RESP3 value.
 */
export function parseFrame(type: MessageType, stream: GappedStream, pos: number): ParseResult<RedisFrame> {
  const c = new Cursor(stream);
  const values: string[] = [];
  let kind: RespKind = 'array';
  let count: number | null = null;
  let end: number;
  let lengthGuessed = false;
  const topSink: string[] = [];
  try {
    const first = c.need(pos);
    kind = MARKER_KINDS.get(first) ?? 'array';
    if (type === 'request' && first !== ARRAY_MARKER) {
      if (!isLetter(first)) throw new Stop('invalid', pos, `request starts with 0x${first.toString(16)}`);
      kind = 'inline';
      end = parseInline(c, pos, values);
    } else {
      const v = parseValue(c, pos, 0, topSink, type === 'request');
      kind = v.kind;
      count = v.count;
      if (v.count === null) values.push(v.text);
      else values.push(...topSink);
      end = v.end;
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    if (e.kind === 'needs-more-data') return { state: 'needs-more-data' };
    if (e.kind === 'invalid') return { state: 'invalid', reason: `redis: ${e.reason}` };
    if (e.at === pos) return { state: 'invalid', reason: 'redis: frame start not captured' };
    end = chunkEndAt(stream, e.at);
    lengthGuessed = true;
    if (values.length === 0) values.push(...topSink); // the elements read before the gap
  }
  if (type === 'request') redactSecrets(values);
  const length = end - pos;
  return {
    state: 'ok',
    length,
    frame: {
      startPos: pos,
      tsStartNs: stream.tsAt(pos),
      tsEndNs: stream.tsAt(end - 1),
      tid: stream.tidAt(pos),
      length,
      kind,
      values,
      count,
      hasGap: !stream.isCaptured(pos, length),
      lengthGuessed,
    },
  };
}

const opensRequest = (b: number): boolean => b === ARRAY_MARKER || isLetter(b);
const opensResponse = (b: number): boolean => MARKER_KINDS.has(b) || b === ATTRIBUTE_MARKER;

/**
 * First position at or after `from` where a frame may start: a type marker (requests: `*` or a letter) at the
 * start of a line or of a syscall. -1 if none. Only captured bytes are searched.
 */
export function findFrameBoundary(type: MessageType, stream: GappedStream, from: number): number {
  return findLineStart(stream, from, type === 'request' ? opensRequest : opensResponse);
}

const ARRAY_REQUEST_HEAD = /^\*[0-9]{1,6}\r\n\$[0-9]{1,9}\r\n[A-Za-z]/;
/**
 * A reply's first value, strictly (the registry tries every protocol on every early chunk of a connection, so a
 * binary packet that happens to start with '+' must not pass): printable simple lines, numeric sizes, and for
 * aggregates a marker after the size line.
 */
const RESPONSE_HEAD =
  /^(\+[\x20-\x7e]{0,200}\r\n|-[A-Z][A-Za-z]*( [\x20-\x7e]{0,200})?\r\n|:-?[0-9]{1,20}\r\n|_\r\n|,[-+0-9.eEinfa]{1,40}\r\n|#[tf]\r\n|\(-?[0-9]{1,80}\r\n|[$!=](-1|[0-9]{1,10})\r\n|[*%~>](-1\r\n|0\r\n|[0-9]{1,10}\r\n[-+:$*_,#(!=%~>|]))/;
/** Inline commands a client may send first (health checks), upper case only: lower-case words are memcached's. */
const INLINE_FIRST_COMMANDS = /^(PING|AUTH|HELLO|SELECT|INFO)( [\x20-\x7e]*)?\r?\n/;

/** Whether a connection's first bytes in direction `type` look like RESP. Ports (6379) are only a hint. */
export function detect(head: Uint8Array, type: MessageType): boolean {
  const s = Buffer.from(head.subarray(0, 64)).toString('latin1');
  if (type === 'request') return ARRAY_REQUEST_HEAD.test(s) || INLINE_FIRST_COMMANDS.test(s);
  return RESPONSE_HEAD.test(s);
}
