/**
 * Test helpers shared by the protocol tests of redis/, mysql/, amqp/, memcached/ (and http/'s fuzz test; test code
 * only): streams built from recorded chunks with a snaplen, the frame loop the analysis runs (parse, advance,
 * resync), a seeded RNG.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GappedStream } from '../analyze/protocols/gappedStream.js';
import type { Chunk, MessageType, ParseResult } from '../analyze/protocols/types.js';

/** One recorded syscall-sized chunk: direction, microseconds since the exchange began, payload in base64. */
export type RecordedChunk = readonly [type: MessageType, tUs: number, base64: string];

/** Base of test timestamps (ns); any value works, this one reads like 2026. */
export const T0_NS = 1_790_000_000_000_000_000n;

export function bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

export function fromBase64(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** Chunks of one direction of a recorded exchange, each keeping only its first `snaplen` bytes. */
export function chunksOf(recorded: readonly RecordedChunk[], type: MessageType, snaplen = Infinity, tid = 100): Chunk[] {
  return recorded
    .filter(([t]) => t === type)
    .map(([, tUs, b64]) => {
      const all = fromBase64(b64);
      return { tsNs: T0_NS + BigInt(tUs) * 1000n, tid, bytes: all.length, data: all.subarray(0, Math.min(all.length, snaplen)) };
    });
}

export function streamOf(recorded: readonly RecordedChunk[], type: MessageType, snaplen = Infinity): GappedStream {
  return new GappedStream(chunksOf(recorded, type, snaplen));
}

/** All bytes of one direction, concatenated (the "well-formed message" for truncation tests). */
export function joined(recorded: readonly RecordedChunk[], type: MessageType): Uint8Array {
  return new Uint8Array(Buffer.concat(recorded.filter(([t]) => t === type).map(([, , b64]) => Buffer.from(b64, 'base64'))));
}

/** A stream of fully captured parts, one chunk each, timestamps 1 µs apart. */
export function fullStream(...parts: Array<Uint8Array | string>): GappedStream {
  return new GappedStream(
    parts.map((p, i) => {
      const data = typeof p === 'string' ? bytes(p) : p;
      return { tsNs: T0_NS + BigInt(i) * 1000n, tid: 1, bytes: data.length, data };
    }),
  );
}

/** A chunk that moved `total` bytes of which only `head` were captured. */
export function gappedChunk(head: Uint8Array | string, total: number, tsNs = T0_NS, tid = 1): Chunk {
  const data = typeof head === 'string' ? bytes(head) : head;
  return { tsNs, tid, bytes: total, data };
}

export interface FrameParser<F> {
  parseFrame(type: MessageType, stream: GappedStream, pos: number): ParseResult<F>;
  findFrameBoundary(type: MessageType, stream: GappedStream, from: number): number;
}

export interface ParsedStream<F> {
  frames: F[];
  invalid: number;
  ignored: number;
  /** Where parsing stopped: stream.length if everything was consumed. */
  endPos: number;
  needsMoreData: boolean;
}

/** The frame loop (parse, advance, resync on invalid), asserting progress at every step. */
export function parseAll<F>(parser: FrameParser<F>, type: MessageType, stream: GappedStream): ParsedStream<F> {
  const out: ParsedStream<F> = { frames: [], invalid: 0, ignored: 0, endPos: 0, needsMoreData: false };
  let pos = 0;
  while (pos < stream.length) {
    const r = parser.parseFrame(type, stream, pos);
    if (r.state === 'ok' || r.state === 'ignored') {
      assert.ok(r.length > 0, `no progress at ${pos}`);
      if (r.state === 'ok') out.frames.push(r.frame);
      else out.ignored++;
      pos += r.length;
    } else if (r.state === 'needs-more-data') {
      out.needsMoreData = true;
      break;
    } else {
      out.invalid++;
      const next = parser.findFrameBoundary(type, stream, pos + 1);
      if (next < 0) {
        pos = stream.length;
        break;
      }
      assert.ok(next > pos, `findFrameBoundary went back: ${next} <= ${pos}`);
      pos = next;
    }
  }
  out.endPos = Math.min(pos, stream.length);
  return out;
}

/** The messages (frames) of a well-formed byte string, as the frame loop finds them: the inputs of truncation tests. */
export function framesOf<F extends { startPos: number; length: number }>(parser: FrameParser<F>, type: MessageType, all: Uint8Array): Uint8Array[] {
  return parseAll(parser, type, fullStream(all)).frames.map((f) => all.subarray(f.startPos, f.startPos + f.length));
}

function stateOf(r: ParseResult<unknown>): string {
  return r.state === 'invalid' ? `invalid (${r.reason})` : r.state === 'needs-more-data' ? r.state : `${r.state}, length ${r.length}`;
}

/**
 * Asserts that every proper prefix of the well-formed message `msg` needs more data, as one chunk and split over two
 * (an incomplete message must be neither consumed nor rejected). Returns the number of prefixes checked.
 */
export function assertTruncationsNeedMoreData<F>(parser: FrameParser<F>, type: MessageType, msg: Uint8Array, label: string): number {
  for (let k = 0; k < msg.length; k++) {
    const prefix = msg.subarray(0, k);
    const whole = parser.parseFrame(type, fullStream(prefix), 0);
    assert.equal(whole.state, 'needs-more-data', `${label} cut at ${k} of ${msg.length}: ${stateOf(whole)}`);
    const split = parser.parseFrame(type, fullStream(prefix.subarray(0, k >> 1), prefix.subarray(k >> 1)), 0);
    assert.equal(split.state, 'needs-more-data', `${label} cut at ${k} of ${msg.length}, split: ${stateOf(split)}`);
  }
  return msg.length;
}

/** A case of an invalid table: test name, direction, input (fully captured unless a stream), position (default 0). */
export type InvalidCase = readonly [name: string, type: MessageType, input: string | Uint8Array | GappedStream, pos?: number];

/** Registers one test per case, each asserting that parseFrame says invalid. */
export function itRejectsAll<F>(parser: FrameParser<F>, cases: readonly InvalidCase[]): void {
  for (const [name, type, input, pos = 0] of cases) {
    it(name, () => {
      const stream = input instanceof GappedStream ? input : fullStream(input);
      assert.equal(parser.parseFrame(type, stream, pos).state, 'invalid');
    });
  }
}

/** Invalid cases named `<type> <input as JSON>`. */
export function namedByInput(cases: ReadonlyArray<readonly [MessageType, string]>): InvalidCase[] {
  return cases.map(([type, input]) => [`${type} ${JSON.stringify(input)}`, type, input]);
}

/**
 * The fuzz loop: `iterations` streams, each of random bytes (1 in 5) or a mutated seed, then `grow`n if given, cut
 * into random chunks of which about 3 in 10 are captured only in part. The frame loop (which asserts progress at every
 * step) must end within each stream in both directions; nothing may throw.
 */
export function fuzzFrameLoop<F>(
  parser: FrameParser<F>,
  next: () => number,
  seeds: readonly Uint8Array[],
  iterations: number,
  grow: (base: Uint8Array) => Uint8Array = (base) => base,
): void {
  for (let i = 0; i < iterations; i++) {
    const base = grow(next() < 0.2 ? randomBytes(Math.floor(next() * 300), next) : mutate(seeds[Math.floor(next() * seeds.length)]!, next));
    const chunks: Chunk[] = [];
    let at = 0;
    while (at < base.length) {
      const n = 1 + Math.floor(next() * base.length);
      const data = base.subarray(at, Math.min(base.length, at + n));
      const captured = next() < 0.3 ? Math.floor(next() * data.length) : data.length;
      chunks.push(gappedChunk(data.subarray(0, captured), data.length, T0_NS + BigInt(i), 1));
      at += n;
    }
    const s = new GappedStream(chunks);
    for (const type of ['request', 'response'] as const) assert.ok(parseAll(parser, type, s).endPos <= s.length);
  }
}

/** Deterministic PRNG so a failing fuzz case can be replayed. */
export { seededRandom as rng } from './seededRandom.js';

/** A copy of `data` with a few random bytes changed, inserted or removed. */
export function mutate(data: Uint8Array, next: () => number): Uint8Array {
  const arr = Array.from(data);
  const edits = 1 + Math.floor(next() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (arr.length + 1));
    const op = next();
    if (op < 0.5 && arr.length > 0) arr[Math.min(at, arr.length - 1)] = Math.floor(next() * 256);
    else if (op < 0.75) arr.splice(at, 0, Math.floor(next() * 256));
    else arr.splice(at, 1);
  }
  return new Uint8Array(arr);
}

export function randomBytes(n: number, next: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** Recorded exchanges of one connection played one after another (their clocks each start at 0). */
export function concatRecorded(...exchanges: ReadonlyArray<readonly RecordedChunk[]>): RecordedChunk[] {
  const out: RecordedChunk[] = [];
  let offset = 0;
  for (const ex of exchanges) {
    let last = 0;
    for (const [type, tUs, b64] of ex) {
      out.push([type, offset + tUs, b64]);
      last = Math.max(last, tUs);
    }
    offset += last + 1000;
  }
  return out;
}
