import { LOWER } from './work.js';
import { CandidateScanner } from './simdScan.js';

/**
 * The prefilter: one pass over the raw payload bytes looking for the few words after which a secret can follow.
 * Most payloads contain none and cost only this pass (no string is built). Each word is found through one of its
 * two-byte pairs chosen to be rare in OpenStack traffic (measured on the shipped samples: the anchors below occur
 * at ~0.6 % of byte positions), then the whole word is compared.
 */

/** What a trigger word starts: which rule looks at it (capture/redact/rules.ts). */
export type TriggerKind =
  | 'name' // a sensitive name: JSON key, header, SQL column, form field, pickle key, /tokens/ path
  | 'header' // a credential header name that is not a sensitive name (Authorization, Cookie)
  | 'redis-auth' // RESP or inline AUTH
  | 'identified' // SQL IDENTIFIED BY '...'
  | 'url' // scheme://user:password@
  | 'fernet'
  | 'jwt'
  | 'bcrypt'
  | 'shacrypt'
  | 'pbkdf2';

export interface Trigger {
  id: number;
  /** Lower-case (or exact) bytes of the word. */
  word: Uint8Array;
  kind: TriggerKind;
  /** Compare case-sensitively (token formats: 'gAAAAA', 'eyJ', '$2b$'). */
  exact: boolean;
  /** Offset of the anchor pair in the word. */
  anchor: number;
  /** The anchor pair, lower-cased (words sharing it are checked together). */
  anchorKey?: number;
  /** Position among the words sharing its anchor pair (the order findTriggers reports them in at one position). */
  rank?: number;
  /** Offsets of the two pairs the aligned scan looks for (findTriggers): one even, one odd. */
  blocks: [number, number];
}

// [word, kind, anchor offset, exact, [even, odd] block offsets]. Anchor pairs per million payload bytes of the
// samples in the comment. Block offsets: the two pairs the aligned scan looks for (findTriggers), one at an even
// and one at an odd offset in the word, each the rarest of its parity in the samples' byte pairs (all 24 words:
// 2.7 % of pairs; 'secret' has no rarer odd pair than 're', 'eyJ' no other even one than 'ey').
const WORDS: [string, TriggerKind, number, boolean, [number, number]][] = [
  ['passw', 'name', 3, false, [0, 3]], // sw 1598
  ['secret', 'name', 2, false, [2, 3]], // cr 1596
  ['token', 'name', 1, false, [2, 1]], // ok 830
  ['credential', 'name', 7, false, [0, 7]], // ia 385
  ['private_key', 'name', 7, false, [2, 7]], // _k 111
  ['private-key', 'name', 7, false, [2, 7]], // -k 4
  ['api_key', 'name', 2, false, [2, 3]], // i_ 20
  ['api-key', 'name', 2, false, [2, 3]], // i- 26
  ['apikey', 'name', 2, false, [2, 1]], // ik 6
  ['hmac', 'name', 0, false, [0, 1]], // hm 38
  ['cookie', 'header', 3, false, [2, 3]], // ki 39
  ['authoriz', 'header', 6, false, [6, 3]], // iz 103
  ['auth\r\n', 'redis-auth', 3, false, [2, 3]], // h\r 32
  ['identified', 'identified', 5, false, [6, 5]], // if 119
  ['://', 'url', 0, true, [0, 1]], // :/ 492
  ['gAAAAA', 'fernet', 0, true, [0, 1]], // ga 144
  ['eyJ', 'jwt', 1, true, [0, 1]], // yj 37
  ['$2a$', 'bcrypt', 0, true, [2, 1]], // $2 8
  ['$2b$', 'bcrypt', 0, true, [2, 1]],
  ['$2x$', 'bcrypt', 0, true, [2, 1]],
  ['$2y$', 'bcrypt', 0, true, [2, 1]],
  ['$5$', 'shacrypt', 0, true, [0, 1]], // $5 0
  ['$6$', 'shacrypt', 0, true, [0, 1]], // $6 0
  ['pbkdf2', 'pbkdf2', 0, false, [0, 1]], // pb 6
];

export const TRIGGERS: Trigger[] = WORDS.map(([w, kind, anchor, exact, blocks], id) => ({
  id,
  word: Uint8Array.from(w, (c) => (exact ? c.charCodeAt(0) : LOWER[c.charCodeAt(0)]!)),
  kind,
  exact,
  anchor,
  blocks,
}));
/**
 * Two consecutive bytes of some trigger word, in every case the word may take ((first << 8) | second -> 1): a word
 * spans two payloads only where the last byte of the one and the first of the next are such a pair.
 */
export const WORD_PAIRS = new Uint8Array(65536);
{
  const variants = (c: number, exact: boolean): number[] => (!exact && c >= 0x61 && c <= 0x7a ? [c, c - 32] : [c]);
  for (const t of TRIGGERS) {
    for (let i = 0; i + 1 < t.word.length; i++) {
      for (const a of variants(t.word[i]!, t.exact)) for (const c of variants(t.word[i + 1]!, t.exact)) WORD_PAIRS[(a << 8) | c] = 1;
    }
  }
}

/** Longest word: how far a word may reach back into the previous payload. */
export const MAX_WORD = Math.max(...TRIGGERS.map((t) => t.word.length));

/**
 * Anchor pair, as raw bytes in every case the word may take -> 1 + index into GROUPS; 0 = no word anchored there.
 * Indexed by the raw bytes, so the scan does one table load per byte (no lower-casing).
 */
const ANCHORS = new Uint8Array(65536);
const GROUPS: Trigger[][] = [];
const cases = (c: number, exact: boolean): number[] => (!exact && c >= 0x61 && c <= 0x7a ? [c, c - 32] : [c]);
for (const t of TRIGGERS) {
  const lower = (LOWER[t.word[t.anchor]!]! << 8) | LOWER[t.word[t.anchor + 1]!]!;
  let group = GROUPS.findIndex((g) => g[0]!.anchorKey === lower);
  if (group < 0) {
    GROUPS.push([]);
    group = GROUPS.length - 1;
  }
  t.anchorKey = lower;
  t.rank = GROUPS[group]!.length;
  GROUPS[group]!.push(t);
  for (const a of cases(t.word[t.anchor]!, t.exact)) for (const b of cases(t.word[t.anchor + 1]!, t.exact)) ANCHORS[(a << 8) | b] = group + 1;
}

function wordAt(b: Uint8Array, at: number, end: number, t: Trigger): boolean {
  const w = t.word;
  if (at < 0 || at + w.length > end) return false;
  if (t.exact) {
    for (let i = 0; i < w.length; i++) if (b[at + i] !== w[i]) return false;
  } else {
    for (let i = 0; i < w.length; i++) if (LOWER[b[at + i]!] !== w[i]) return false;
  }
  return true;
}

/**
 * The aligned scan's table: two bytes at an even address, read as one 16-bit little-endian value (first byte in
 * the low half) -> 1 + index into BLOCK_WORDS; 0 = no word has that pair at its block offsets. Each word registers
 * its pairs at its two block offsets, one even and one odd (every case the word may take): wherever the word lies,
 * one of the two starts at an even address, so reading the buffer two bytes at a time still finds every word, with
 * one table load per two bytes instead of one per byte.
 */
const BLOCKS = new Uint8Array(65536);
/** Per block value: the words having it at an offset, and that offset (parallel arrays). */
const BLOCK_WORDS: Trigger[][] = [];
const BLOCK_OFFSETS: number[][] = [];
for (const t of TRIGGERS) {
  if (t.blocks[0] % 2 !== 0 || t.blocks[1] % 2 !== 1) throw new Error(`triggers: block offsets of '${String.fromCharCode(...t.word)}' must be one even, one odd`);
  for (const o of t.blocks) {
    if (o + 2 > t.word.length) throw new Error(`triggers: block offset ${o} outside '${String.fromCharCode(...t.word)}'`);
    for (const a of cases(t.word[o]!, t.exact)) {
      for (const c of cases(t.word[o + 1]!, t.exact)) {
        const v = a | (c << 8);
        if (BLOCKS[v] === 0) {
          BLOCK_WORDS.push([]);
          BLOCK_OFFSETS.push([]);
          BLOCKS[v] = BLOCK_WORDS.length;
        }
        BLOCK_WORDS[BLOCKS[v]! - 1]!.push(t);
        BLOCK_OFFSETS[BLOCKS[v]! - 1]!.push(o);
      }
    }
  }
}
if (BLOCK_WORDS.length > 255) throw new Error('triggers: too many block pairs for a byte table');

/**
 * The aligned scan's second look: (block group << 8 | the byte after the block pair) -> 1 if some word of the group
 * may have that byte there (any byte when the pair ends the word). A block pair alone is common (2.7 % of the
 * samples' blocks, ~5 hits per real word: 're' of 'secret', 'ke' of 'token'); with its next byte, most hits are
 * settled by one more load instead of a call comparing every word of the group.
 */
const NEXT = new Uint8Array(256 * 256);
for (let g = 0; g < BLOCK_WORDS.length; g++) {
  const words = BLOCK_WORDS[g]!;
  const offsets = BLOCK_OFFSETS[g]!;
  for (let x = 0; x < words.length; x++) {
    const t = words[x]!;
    const o = offsets[x]! + 2;
    if (o >= t.word.length) NEXT.fill(1, (g + 1) << 8, (g + 2) << 8);
    else for (const c of cases(t.word[o]!, t.exact)) NEXT[((g + 1) << 8) | c] = 1;
  }
}

/**
 * The SIMD prefilter's fingerprints (capture/redact/simdScan.ts): three bytes of each word (word, offset), in 8
 * buckets. Chosen on the shipped samples' trigrams (a local search over offsets and buckets) for the fewest
 * candidates: 167 k over their 64 MB of payloads, for 163 k words (the words' first three bytes in 8 hand-made
 * buckets: 504 k, from 'created', 'identity', hex digits). A bucket's nibble tables accept every mix of its
 * fingerprints' bytes: those sharing one must not combine into common trigrams.
 */
const SIMD_BUCKETS: [string, number][][] = [
  [['gAAAAA', 0], ['$2y$', 0], ['$5$', 0], ['$6$', 0]],
  [['token', 0], ['://', 0]],
  [['private_key', 6], ['private-key', 6], ['api_key', 2], ['api-key', 2], ['eyJ', 0]],
  [['secret', 1], ['authoriz', 5]],
  [['apikey', 2], ['cookie', 3]],
  [['passw', 2], ['$2x$', 0]],
  [['credential', 6], ['identified', 4], ['$2a$', 0], ['$2b$', 0]],
  [['hmac', 0], ['auth\r\n', 3], ['pbkdf2', 2]],
];
/** Per trigger id: the offset of its fingerprint in the word. */
const FINGERPRINT_AT: number[] = [];
const FINGERPRINTS = TRIGGERS.map((t) => {
  const w = String.fromCharCode(...t.word);
  const same = ([x]: [string, number]) => (t.exact ? x : x.toLowerCase()) === w;
  const bucket = SIMD_BUCKETS.findIndex((b) => b.some(same));
  if (bucket < 0) throw new Error(`triggers: no SIMD bucket for '${w}'`);
  const off = SIMD_BUCKETS[bucket]!.find(same)![1];
  FINGERPRINT_AT[t.id] = off;
  const c = (k: number) => cases(t.word[off + k]!, t.exact);
  return { bytes: [c(0), c(1), c(2)] as [number[], number[], number[]], bucket };
});
const simd = CandidateScanner.create(FINGERPRINTS);
/**
 * A fingerprint's first two bytes, raw, in every case the word may take -> 1 + index into FINGERPRINTED: the words
 * whose fingerprint starts so (checking a candidate).
 */
const FINGERPRINT_PAIRS = new Uint8Array(65536);
const FINGERPRINTED: Trigger[][] = [];
for (const t of TRIGGERS) {
  const off = FINGERPRINT_AT[t.id]!;
  for (const a of cases(t.word[off]!, t.exact)) {
    for (const c of cases(t.word[off + 1]!, t.exact)) {
      const v = (a << 8) | c;
      if (FINGERPRINT_PAIRS[v] === 0) {
        FINGERPRINTED.push([]);
        FINGERPRINT_PAIRS[v] = FINGERPRINTED.length;
      }
      const words = FINGERPRINTED[FINGERPRINT_PAIRS[v]! - 1]!;
      if (!words.includes(t)) words.push(t);
    }
  }
}
/** Ranges at least this long go through the SIMD prefilter (below, copying them into its memory costs more). */
export const SIMD_MIN = 128;

/** findTriggers through the SIMD prefilter (only where `hasSimd`). */
export function findTriggersSimd(b: Uint8Array, from: number, end: number, firstEnd: number, out: Int32Array): number {
  const count = simd!.candidates(b, from, end);
  const n = checkCandidates(b, simd!.list, simd!.at, simd!.at + count, from, from, end, firstEnd, out);
  return n >= 0 ? n : findTriggersBytewise(b, from, end, firstEnd, out);
}

/**
 * The words at the SIMD prefilter's candidates `list[k0, k1)` (positions from `origin`, ascending) that lie in
 * `b[from, end)` and end at or after `firstEnd`: each checked against the words whose fingerprint starts with its
 * first two bytes, and inserted into `out` in triggerOrder. Returns how many, or -1 when `out` filled up (the
 * byte-wise scan then decides which words it holds, as findTriggers does).
 */
function checkCandidates(b: Uint8Array, list: Uint32Array, k0: number, k1: number, origin: number, from: number, end: number, firstEnd: number, out: Int32Array): number {
  const max = out.length >> 1;
  let n = 0;
  for (let k = k0; k < k1; k++) {
    const p = origin + list[k]!;
    const g = FINGERPRINT_PAIRS[(b[p]! << 8) | b[p + 1]!]!;
    if (g === 0) continue;
    const words = FINGERPRINTED[g - 1]!;
    for (let x = 0; x < words.length; x++) {
      const t = words[x]!;
      const at = p - FINGERPRINT_AT[t.id]!;
      if (at >= from && at + t.word.length > firstEnd && wordAt(b, at, end, t)) {
        n = insertTrigger(out, n, at, t.id, (at + t.anchor) * 64 + t.rank!);
        if (n === max) return -1;
      }
    }
  }
  return n;
}

/**
 * Bytes one BufferScan pass covers at least: the first pass over a buffer FIRST_WINDOW, each further one twice
 * the last, up to MAX_WINDOW (a pipe read of the capture: 64 KiB). A buffer may hold far fewer bytes of events
 * than its length (the decoder's staging buffer: one record split across two reads).
 */
const FIRST_WINDOW = 2048;
const MAX_WINDOW = 65536;

/**
 * The trigger words of successive ranges of one buffer, from one SIMD pass over many of them: the capture
 * hands the redactor the payloads of a pipe read one after the other, mostly a few bytes each (median 13 in the
 * samples), and a pass per payload would cost a copy and a call each. Candidates are then only walked.
 *
 * Valid while the caller keeps to this: ranges of one buffer come in increasing order, and bytes after a range
 * do not change before a later range covers them (redaction changes only the range being redacted). A range of
 * another buffer object, one starting at or before the previous range's end (a staging buffer refilled), or one
 * past the scanned window is scanned afresh.
 */
export class BufferScan {
  private buf: Uint8Array | null = null;
  private winStart = 0;
  private winEnd = 0;
  private lastEnd = 0;
  private window = FIRST_WINDOW;
  /** Candidates not yet passed: `scanner.list[next, stop)`. */
  private next = 0;
  private stop = 0;

  private constructor(private readonly scanner: CandidateScanner) {}

  /** Null where WebAssembly SIMD is not available. */
  static create(): BufferScan | null {
    const scanner = simd === null ? null : CandidateScanner.create(FINGERPRINTS);
    return scanner === null ? null : new BufferScan(scanner);
  }

  /** findTriggers(b, from, end, from, out), or -1 when `out` fills up (the caller scans again with more room). */
  find(b: Uint8Array, from: number, end: number, out: Int32Array): number {
    if (b !== this.buf || from <= this.lastEnd || end > this.winEnd) {
      this.window = b === this.buf && from > this.lastEnd ? Math.min(2 * this.window, MAX_WINDOW) : FIRST_WINDOW;
      const winEnd = Math.min(b.length, from + Math.max(this.window, end - from));
      const count = this.scanner.candidates(b, from, winEnd);
      this.buf = b;
      this.winStart = from;
      this.winEnd = winEnd;
      this.next = this.scanner.at;
      this.stop = this.next + count;
    }
    this.lastEnd = end;
    const list = this.scanner.list;
    const lo = from - this.winStart;
    const hi = end - 2 - this.winStart; // a word's fingerprint lies wholly in the range: p + 3 <= end
    let k0 = this.next;
    while (k0 < this.stop && list[k0]! < lo) k0++;
    let k1 = k0;
    while (k1 < this.stop && list[k1]! < hi) k1++;
    this.next = k1;
    return k0 === k1 ? 0 : checkCandidates(b, list, k0, k1, this.winStart, from, end, from, out);
  }
}

export const hasSimd = simd !== null;

/** Payloads shorter than this are scanned byte by byte (the aligned scan's set-up costs more there). */
const ALIGNED_MIN = 16;

/**
 * 16- and 32-bit views of the last two ArrayBuffers scanned: payloads come from a few large buffers (the pipe's
 * chunks), and the redactor's slow path alternates between a chunk and its own scratch buffer. A view per call
 * would be an allocation per payload.
 */
let viewed: ArrayBufferLike | null = null;
let halves = new Uint16Array(0);
let words32 = new Uint32Array(0);
let viewedBefore: ArrayBufferLike | null = null;
let halvesBefore = new Uint16Array(0);
let wordsBefore = new Uint32Array(0);

function view(buffer: ArrayBufferLike): void {
  if (buffer === viewed) return;
  let h: Uint16Array;
  let w: Uint32Array;
  if (buffer === viewedBefore) {
    h = halvesBefore;
    w = wordsBefore;
  } else {
    h = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    w = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  viewedBefore = viewed;
  halvesBefore = halves;
  wordsBefore = words32;
  viewed = buffer;
  halves = h;
  words32 = w;
}

/**
 * Finds trigger words in `b[from, end)` that end at or after `firstEnd` (words wholly before it were seen with
 * the previous payload). Writes (position, trigger id) pairs into `out` and returns how many it found, at most
 * `out.length / 2`; positions come in increasing order of their anchor (`triggerOrder`).
 *
 * Reads the bytes two at a time at even addresses (BLOCKS). A word is found at its aligned pair, which lies up to a
 * few bytes away from its anchor, so each word found is inserted in anchor order (nearly always at the end).
 * Results equal findTriggersBytewise's (capture/redact/triggers.test.ts); when the list fills up, that scan decides
 * which words it holds.
 */
export function findTriggers(b: Uint8Array, from: number, end: number, firstEnd: number, out: Int32Array): number {
  if (end - from < ALIGNED_MIN) return findTriggersBytewise(b, from, end, firstEnd, out);
  if (end - from >= SIMD_MIN && simd !== null) return findTriggersSimd(b, from, end, firstEnd, out);
  view(b.buffer);
  const u = halves;
  const q32 = words32;
  const base = b.byteOffset;
  const max = out.length >> 1;
  let n = 0;
  // the blocks wholly inside [from, end): block k holds the bytes at addresses 2k and 2k + 1
  let k = (base + from + 1) >>> 1;
  const last = (base + end) >>> 1;
  if ((k & 1) !== 0) {
    // to a 4-byte aligned block
    const g = BLOCKS[u[k]!]!;
    if (g !== 0) {
      n = wordsAtBlock(b, 2 * k - base, g, from, end, firstEnd, out, n);
      if (n === max) return findTriggersBytewise(b, from, end, firstEnd, out);
    }
    k++;
  }
  // Eight bytes per step, read as two 32-bit words (two blocks each), one branch for the four blocks: ~3 % of
  // blocks are one of the pairs.
  let q = k >>> 1;
  const qLast = last >>> 1;
  for (; q + 1 < qLast; q += 2) {
    const a = q32[q]!;
    const c = q32[q + 1]!;
    if ((BLOCKS[a & 0xffff]! | BLOCKS[a >>> 16]! | BLOCKS[c & 0xffff]! | BLOCKS[c >>> 16]!) !== 0) {
      for (let i = 2 * q; i < 2 * q + 4; i++) {
        const g = BLOCKS[u[i]!]!;
        const p = 2 * i - base;
        if (g !== 0 && (p + 2 >= end || NEXT[(g << 8) | b[p + 2]!] === 1)) {
          n = wordsAtBlock(b, p, g, from, end, firstEnd, out, n);
          if (n === max) return findTriggersBytewise(b, from, end, firstEnd, out);
        }
      }
    }
  }
  for (k = 2 * q; k < last; k++) {
    const g = BLOCKS[u[k]!]!;
    if (g === 0) continue;
    const p = 2 * k - base;
    if (p + 2 < end && NEXT[(g << 8) | b[p + 2]!] !== 1) continue;
    n = wordsAtBlock(b, p, g, from, end, firstEnd, out, n);
    if (n === max) return findTriggersBytewise(b, from, end, firstEnd, out);
  }
  return n;
}

/**
 * Inserts the trigger (`at`, `id`) into the first `n` pairs of `out`, kept in trigger order (`key`: its anchor
 * position * 64 + its rank, as triggerOrder computes it); returns the new count.
 */
function insertTrigger(out: Int32Array, n: number, at: number, id: number, key: number): number {
  let i = n;
  while (i > 0 && triggerOrder(out[2 * i - 2]!, out[2 * i - 1]!) > key) {
    out[2 * i] = out[2 * i - 2]!;
    out[2 * i + 1] = out[2 * i - 1]!;
    i--;
  }
  out[2 * i] = at;
  out[2 * i + 1] = id;
  return n + 1;
}

/**
 * The words of block group `g` whose block pair starts at `p`: inserted into `out[0, n)` in triggerOrder; returns
 * the new count (at most `out.length / 2`).
 */
function wordsAtBlock(b: Uint8Array, p: number, g: number, from: number, end: number, firstEnd: number, out: Int32Array, n: number): number {
  const words = BLOCK_WORDS[g - 1]!;
  const offsets = BLOCK_OFFSETS[g - 1]!;
  const max = out.length >> 1;
  for (let x = 0; x < words.length; x++) {
    const t = words[x]!;
    const at = p - offsets[x]!;
    if (at + t.word.length > firstEnd && at >= from && wordAt(b, at, end, t)) {
      n = insertTrigger(out, n, at, t.id, (at + t.anchor) * 64 + t.rank!);
      if (n === max) return n;
    }
  }
  return n;
}

/**
 * findTriggers reading every byte pair (one table load per byte): for short ranges, and the reference the aligned
 * scan is tested against.
 */
export function findTriggersBytewise(b: Uint8Array, from: number, end: number, firstEnd: number, out: Int32Array): number {
  let n = 0;
  const max = out.length >> 1;
  if (end - from < 2) return 0;
  let prev = b[from]!;
  let j = from + 1;
  // Four pairs per step, one branch for all four: nearly every step finds no anchor (~0.6 % of pairs are one).
  for (; j + 3 < end; j += 4) {
    const c0 = b[j]!;
    const c1 = b[j + 1]!;
    const c2 = b[j + 2]!;
    const c3 = b[j + 3]!;
    if ((ANCHORS[(prev << 8) | c0]! | ANCHORS[(c0 << 8) | c1]! | ANCHORS[(c1 << 8) | c2]! | ANCHORS[(c2 << 8) | c3]!) !== 0) {
      for (let k = j; k < j + 4; k++) {
        const g = ANCHORS[(b[k - 1]! << 8) | b[k]!]!;
        if (g !== 0) {
          n = wordsAt(b, k, g, from, end, firstEnd, out, n);
          if (n === max) return n;
        }
      }
    }
    prev = c3;
  }
  for (; j < end; j++) {
    const c = b[j]!;
    const g = ANCHORS[(prev << 8) | c]!;
    prev = c;
    if (g === 0) continue;
    n = wordsAt(b, j, g, from, end, firstEnd, out, n);
    if (n === max) return n;
  }
  return n;
}

/** The words of anchor group `g` whose anchor pair ends at `j`: appended to `out` from entry `n`; returns the new count. */
function wordsAt(b: Uint8Array, j: number, g: number, from: number, end: number, firstEnd: number, out: Int32Array, n: number): number {
  const max = out.length >> 1;
  for (const t of GROUPS[g - 1]!) {
    const at = j - 1 - t.anchor;
    if (at + t.word.length > firstEnd && at >= from && wordAt(b, at, end, t)) {
      out[2 * n] = at;
      out[2 * n + 1] = t.id;
      if (++n === max) return n;
    }
  }
  return n;
}

/**
 * The order findTriggers reports a word in: by the position of its anchor pair, then by its rank among the words
 * sharing that pair. Lets two lists found over parts of one buffer be merged into what one scan would give.
 */
export function triggerOrder(at: number, id: number): number {
  const t = TRIGGERS[id]!;
  return (at + t.anchor) * 64 + t.rank!;
}
