/**
 * What was computed from a statement's bytes, remembered by those bytes: a statement seen again is looked up by a
 * hash of its bytes and one byte comparison, without decoding it to a string first (decoding, then hashing and
 * comparing the string, cost ~1.2 µs per statement: 264 k statements, 42 MB of SQL in the 1 M bench set).
 *
 * Distinct statements are remembered per generation: one missed in the current generation is looked up in the
 * previous one (and moved over) before it is computed again; a full generation becomes the previous one. Its
 * contents never change a result (equal bytes decode to the same text).
 */
export class StatementCache<V> {
  private current = new Map<number, Entry<V>>();
  private previous = new Map<number, Entry<V>>();
  private size = 0;

  constructor(
    /** Distinct statements per generation. */
    private readonly perGeneration: number,
  ) {}

  /**
   * The value remembered for bytes [start, end) of `buf`, else compute() of them (remembered with a copy of the
   * bytes). A range rather than a view: a statement seen again makes no view of its own.
   */
  get(buf: Uint8Array, compute: (bytes: Uint8Array) => V, start = 0, end = buf.length): V {
    const h = hashBytes(buf, start, end);
    const hit = find(this.current.get(h), buf, start, end);
    if (hit) return hit.value;
    const old = find(this.previous.get(h), buf, start, end);
    const bytes = old ? old.bytes : Buffer.copyBytesFrom(buf, start, end - start);
    const value = old ? old.value : compute(bytes);
    if (this.size >= this.perGeneration) {
      this.previous = this.current;
      this.current = new Map();
      this.size = 0;
    }
    // A copy: `buf` is (a view on) a whole event block's payloads.
    this.current.set(h, { bytes, value, next: this.current.get(h) ?? null });
    this.size++;
    return value;
  }
}

interface Entry<V> {
  /** A copy of the statement's bytes (a Buffer: compared with a range of another buffer natively). */
  bytes: Buffer;
  value: V;
  /** The entry remembered before it with the same hash. */
  next: Entry<V> | null;
}

function find<V>(e: Entry<V> | null | undefined, buf: Uint8Array, start: number, end: number): Entry<V> | null {
  for (; e; e = e.next) if (equalBytes(e.bytes, buf, start, end)) return e;
  return null;
}

/** True if `a` holds bytes [start, end) of `b`. */
function equalBytes(a: Buffer, b: Uint8Array, start: number, end: number): boolean {
  const n = a.length;
  if (n !== end - start) return false;
  // Native comparison for long statements, a loop for short ones (a native call costs more than a few bytes).
  if (n > 64) return a.compare(b, start, end) === 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

/**
 * A 32-bit hash of the bytes (MurmurHash3's rounds, not its exact values), mixed four bytes (a little-endian word of the statement) at a time. Words are read
 * from an Int32Array over the buffer where the statement is long enough (a view per statement costs less than four
 * byte reads per word: ~3x faster on 284-byte statements); a view at any offset reads the same words as the bytes do
 * (on a big-endian machine the two would differ: lookups would miss, never match wrongly).
 */
export function hashBytes(buf: Uint8Array, start = 0, end = buf.length): number {
  const n = end - start;
  const full = n >>> 2;
  let h = n ^ 0x811c9dc5;
  let j = 0;
  if (full > 8) {
    const off = buf.byteOffset + start;
    const s = off & 3;
    // Aligned words wholly inside [off - s, off + n): the first s bytes of the first one are not the statement's.
    const words = wordsOf(buf.buffer as ArrayBuffer);
    const w0 = (off - s) >>> 2;
    const wn = Math.min((s + n) >>> 2, words.length - w0);
    if (s === 0) {
      for (; j < full; j++) h = mix(h, words[w0 + j]!);
    } else {
      const right = 8 * s;
      const left = 32 - right;
      const last = Math.min(full, wn - 1);
      for (; j < last; j++) h = mix(h, (words[w0 + j]! >>> right) | (words[w0 + j + 1]! << left));
    }
  }
  for (; j < full; j++) {
    const i = start + 4 * j;
    h = mix(h, buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
  }
  for (let i = start + 4 * full; i < end; i++) h = mix(h, buf[i]!);
  // MurmurHash3's finalizer.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The whole words of `buffer`, the view made once per buffer (an event block's payloads hold many statements): the
 * last one is kept, with its buffer, until another is asked for.
 */
function wordsOf(buffer: ArrayBuffer): Int32Array {
  if (lastWords.buffer !== buffer) lastWords = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
  return lastWords;
}
let lastWords = new Int32Array(0);

/** One MurmurHash3 (x86_32) round. */
function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  return (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
}
