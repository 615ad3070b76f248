/**
 * memcached text-protocol framing over a gapped stream. Spec: https://github.com/memcached/memcached/blob/master/doc/protocol.txt
 * (classic commands) and the meta commands in the same file. The binary protocol (magic 0x80/0x81) is not parsed.
 *
 * Data blocks carry their length on the line before them (`set k 0 0 <bytes>`, `VALUE k 0 <bytes>`), so a large
 * value whose tail was not captured is stepped over. When a gap hides a line, the frame is assumed to end with the
 * syscall holding the gap (`lengthGuessed`).
 */
import { chunkEndAt, CR, findLineStart, LF, Stop } from '../bytes.js';
import type { GappedStream } from '../gappedStream.js';
import type { MessageType, ParseResult } from '../types.js';
import { MAX_KEYS, type MemcachedFrame } from './types.js';

/** Longest command or reply line accepted (keys are at most 250 bytes; `get` may name many). */
const MAX_LINE_LENGTH = 64 * 1024;
/** memcached's default item size limit is 1 MB (-I); 1 GB rejects garbage lengths without rejecting any real item. */
const MAX_DATA_LENGTH = 1024 * 1024 * 1024;

/** Storage commands: `<cmd> <key> <flags> <exptime> <bytes> [cas] [noreply]` then a data block. */
const STORAGE_COMMANDS = new Set(['set', 'add', 'replace', 'append', 'prepend', 'cas']);
/** Retrieval commands: keys start at this word index. */
const RETRIEVAL_KEY_INDEX: ReadonlyMap<string, number> = new Map([['get', 1], ['gets', 1], ['gat', 2], ['gats', 2]]);
/** Other classic and meta commands (meta: mg ms md ma mn me). `ms <key> <datalen> <flags>*` has a data block. */
const LINE_COMMANDS = new Set([
  'delete', 'incr', 'decr', 'touch', 'stats', 'version', 'flush_all', 'verbosity', 'quit', 'shutdown', 'cache_memlimit',
  'slabs', 'lru', 'lru_crawler', 'watch', 'misbehave', 'mg', 'md', 'ma', 'mn', 'me', 'ms', 'verbose',
]);
/** Line commands whose first argument is a key. */
const KEYED_LINE_COMMANDS = new Set(['delete', 'incr', 'decr', 'touch', 'mg', 'ms', 'md', 'ma', 'me']);
/** Commands the server never answers. */
const NO_REPLY_COMMANDS = new Set(['quit', 'shutdown']);
/** Reply lines that are a whole reply on their own. */
const SINGLE_LINE_REPLIES = new Set([
  'STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'DELETED', 'TOUCHED', 'OK', 'END', 'ERROR', 'CLIENT_ERROR', 'SERVER_ERROR',
  'VERSION', 'RESET', 'BUSY', 'BADCLASS', 'NOSPARE', 'NOTFULL', 'UNSAFE', 'SAME',
  'HD', 'EN', 'NF', 'NS', 'EX', 'MN', 'ME',
]);
const ERROR_REPLIES = new Set(['ERROR', 'CLIENT_ERROR', 'SERVER_ERROR']);

interface Line {
  words: string[];
  /** Position after the line's CRLF. */
  next: number;
}

/** Reads the CRLF-terminated line at `pos` (printable ASCII only), reading 128, 512, ... bytes until it ends. */
function readLine(stream: GappedStream, pos: number): Line {
  for (let window = 128; ; window *= 4) {
    const max = Math.min(window, MAX_LINE_LENGTH + 2);
    const run = stream.contiguousAt(pos, max);
    const line = lineIn(stream, pos, run, run.length === max && max < MAX_LINE_LENGTH + 2);
    if (line) return line;
  }
}

/**
 * The line at the start of `run`, or null if the run may go on (`mayGrow`) without a CRLF yet. Its words (split at
 * spaces) are decoded one by one from the bytes as the scan meets them: no string of the whole line, no split.
 */
function lineIn(stream: GappedStream, pos: number, run: Uint8Array, mayGrow: boolean): Line | null {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < run.length; i++) {
    const b = run[i]!;
    if (b === CR) {
      if (i + 1 >= run.length) break;
      if (run[i + 1] !== LF) throw new Stop('invalid', pos + i, 'CR not followed by LF');
      if (start >= 0) words.push(wordAt(run, start, i));
      return { words, next: pos + i + 2 };
    }
    if (b < 0x20 || b > 0x7e) throw new Stop('invalid', pos + i, `byte 0x${b.toString(16)} in a line`);
    if (b === SPACE) {
      if (start >= 0) words.push(wordAt(run, start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (mayGrow) return null;
  if (run.length > MAX_LINE_LENGTH) throw new Stop('invalid', pos, 'line too long');
  const end = pos + run.length;
  if (end >= stream.length) throw new Stop('needs-more-data', end);
  throw new Stop('hidden', end);
}

const SPACE = 0x20;
/** Longest word built from char codes; V8 keeps strings this short flat (longer concatenations become cons strings). */
const SHORT_WORD = 12;

/**
 * The printable ASCII bytes [start, end) of `run` as a string. Short words (commands, replies, numbers) are built
 * from their char codes, longer ones (keys) decoded through a Buffer view: ~0.3 instead of ~0.9 µs per line
 * (Buffer view, latin1 string of the line, split and filter), measured on memcached lines in a micro-benchmark.
 */
function wordAt(run: Uint8Array, start: number, end: number): string {
  if (end - start > SHORT_WORD) return Buffer.from(run.buffer, run.byteOffset + start, end - start).toString('latin1');
  let w = '';
  for (let i = start; i < end; i++) w += String.fromCharCode(run[i]!);
  return w;
}

/** Steps over a data block of `size` bytes + CRLF at `pos`; checks the CRLF when captured. */
function skipData(stream: GappedStream, pos: number, sizeWord: string | undefined): number {
  if (sizeWord === undefined || !/^[0-9]{1,10}$/.test(sizeWord)) throw new Stop('invalid', pos, `bad data length '${sizeWord}'`);
  const size = Number(sizeWord);
  if (size > MAX_DATA_LENGTH) throw new Stop('invalid', pos, `data length ${size}`);
  const end = pos + size + 2;
  if (end > stream.length) throw new Stop('needs-more-data', end);
  const crlf = stream.contiguousAt(end - 2, 2);
  if ((crlf.length >= 1 && crlf[0] !== CR) || (crlf.length === 2 && crlf[1] !== LF)) throw new Stop('invalid', end - 2, 'data block not ended by CRLF');
  return end;
}

interface Parsed {
  end: number;
  command: string;
  keys: string[];
  noreply: boolean;
  valueCount: number;
  error: string | null;
}

function parseRequest(stream: GappedStream, pos: number, out: Parsed): void {
  const line = readLine(stream, pos);
  const [command, ...args] = line.words;
  if (command === undefined) throw new Stop('invalid', pos, 'empty line');
  out.command = command;
  out.end = line.next;
  if (STORAGE_COMMANDS.has(command)) {
    out.keys = args.slice(0, 1);
    out.noreply = args[args.length - 1] === 'noreply';
    out.end = skipData(stream, line.next, args[3]);
  } else if (RETRIEVAL_KEY_INDEX.has(command)) {
    out.keys = line.words.slice(RETRIEVAL_KEY_INDEX.get(command)!, RETRIEVAL_KEY_INDEX.get(command)! + MAX_KEYS);
  } else if (LINE_COMMANDS.has(command)) {
    const isMeta = command.length === 2 && command.startsWith('m');
    out.keys = KEYED_LINE_COMMANDS.has(command) ? args.slice(0, 1) : [];
    out.noreply = NO_REPLY_COMMANDS.has(command) || args[args.length - 1] === 'noreply' || (isMeta && args.slice(1).includes('q'));
    if (command === 'ms') out.end = skipData(stream, line.next, args[1]);
  } else if (/^[a-z_]{1,32}$/.test(command)) {
    // An unknown command: memcached answers ERROR, so it is still a request.
  } else throw new Stop('invalid', pos, `'${command.slice(0, 20)}' is not a command`);
}

function parseResponse(stream: GappedStream, pos: number, out: Parsed): void {
  let line = readLine(stream, pos);
  const first = line.words[0];
  if (first === undefined) throw new Stop('invalid', pos, 'empty line');
  out.command = first;
  out.end = line.next;
  if (first === 'VALUE' || first === 'STAT') {
    // VALUE <key> <flags> <bytes> [<cas>] + data, repeated, then END; STAT <name> <value> lines, then END.
    for (;;) {
      const word = line.words[0];
      if (word === 'END') break;
      if (word !== first) throw new Stop('invalid', out.end, `'${word}' inside a ${first} reply`);
      out.end = line.next;
      if (first === 'VALUE') {
        if (out.keys.length < MAX_KEYS && line.words[1] !== undefined) out.keys.push(line.words[1]);
        out.valueCount++;
        out.end = skipData(stream, line.next, line.words[3]);
      }
      line = readLine(stream, out.end);
    }
    out.end = line.next;
  } else if (first === 'VA') {
    out.valueCount = 1;
    out.end = skipData(stream, line.next, line.words[1]);
  } else if (SINGLE_LINE_REPLIES.has(first) || /^[0-9]{1,20}$/.test(first)) {
    if (ERROR_REPLIES.has(first)) out.error = line.words.join(' ');
  } else throw new Stop('invalid', pos, `'${first.slice(0, 20)}' is not a reply`);
}

/** Parses one command (requests) or one reply (responses) at `pos`. */
export function parseFrame(type: MessageType, stream: GappedStream, pos: number): ParseResult<MemcachedFrame> {
  const out: Parsed = { end: pos, command: '', keys: [], noreply: false, valueCount: 0, error: null };
  let lengthGuessed = false;
  try {
    if (type === 'request') parseRequest(stream, pos, out);
    else parseResponse(stream, pos, out);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    if (e.kind === 'needs-more-data') return { state: 'needs-more-data' };
    if (e.kind === 'invalid') return { state: 'invalid', reason: `memcached: ${e.reason}` };
    if (out.command === '') return { state: 'invalid', reason: 'memcached: first line not captured' };
    out.end = chunkEndAt(stream, e.at);
    lengthGuessed = true;
  }
  const length = out.end - pos;
  return {
    state: 'ok',
    length,
    frame: {
      startPos: pos,
      tsStartNs: stream.tsAt(pos),
      tsEndNs: stream.tsAt(out.end - 1),
      tid: stream.tidAt(pos),
      length,
      command: out.command,
      keys: out.keys,
      noreply: out.noreply,
      valueCount: out.valueCount,
      error: out.error,
      hasGap: !stream.isCaptured(pos, length),
      lengthGuessed,
    },
  };
}

/** Commands are lower case; replies upper case or digits. */
const opensRequest = (b: number): boolean => b >= 0x61 && b <= 0x7a;
const opensResponse = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39);

/** First line start (after LF, or a syscall start) at or after `from` whose first byte may open a frame, or -1. */
export function findFrameBoundary(type: MessageType, stream: GappedStream, from: number): number {
  return findLineStart(stream, from, type === 'request' ? opensRequest : opensResponse);
}


const REQUEST_HEAD = /^(get|gets|gat|gats|set|add|replace|append|prepend|cas|delete|incr|decr|touch|stats|version|flush_all|verbosity|mg|ms|md|ma|mn|me) [\x21-\x7e]|^(version|stats|mn|quit)\r\n/;
const RESPONSE_HEAD = /^(VALUE [\x21-\x7e]+ [0-9]+ [0-9]+( [0-9]+)?|STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|TOUCHED|END|VERSION [\x21-\x7e]+|STAT [\x21-\x7e]+ [^\r\n]*|HD[^\r\n]*|EN|NF|NS|EX|MN|VA [0-9]+[^\r\n]*)\r\n/;

/** Whether a connection's first bytes look like the memcached text protocol. Port 11211 is only a hint. */
export function detect(head: Uint8Array, type: MessageType): boolean {
  const s = Buffer.from(head.subarray(0, 300)).toString('latin1');
  if (type === 'request') return REQUEST_HEAD.test(s) && !/ HTTP\/1\.[01]\r\n/.test(s);
  return RESPONSE_HEAD.test(s);
}
