/**
 * Sorting 64-bit keys that arrive as a few ascending runs (a segment's rows: each CPU's ring is in time order and the
 * consumer drains the rings in rounds, so rows come as interleaved ordered batches; the replay benchmark's input
 * wraps around once per cycle). Merging neighbouring runs pass after pass costs log2(runs) sequential passes, where
 * a general sort of the keys costs log2(rows) (BigUint64Array.sort: ~180 ns/row of the replay's 200 k-row
 * segments, dev).
 *
 * Keys are unsigned 64-bit values as (low word, high word) pairs in a Uint32Array, as a little-endian
 * BigUint64Array views them; equal keys keep their order (stable).
 */

/** Ascending runs in the n keys of `k` (1 when already sorted). */
export function countRuns(k: Uint32Array, n: number): number {
  let runs = n > 0 ? 1 : 0;
  for (let i = 1; i < n; i++) if (keyLess(k, i, k, i - 1)) runs++;
  return runs;
}

/**
 * The n keys of `a` in ascending order, merged between `a` and `tmp` (2 n words at least): returns the one that
 * holds the result (the other holds no meaning then).
 */
export function mergeRuns(a: Uint32Array, n: number, tmp: Uint32Array): Uint32Array {
  let starts: number[] = [0];
  for (let i = 1; i < n; i++) if (keyLess(a, i, a, i - 1)) starts.push(i);
  let src = a;
  let dst = tmp;
  while (starts.length > 1) {
    const next: number[] = [];
    for (let s = 0; s < starts.length; s += 2) {
      const lo = starts[s]!;
      const mid = s + 1 < starts.length ? starts[s + 1]! : n;
      const hi = s + 2 < starts.length ? starts[s + 2]! : n;
      next.push(lo);
      mergeTwo(src, lo, mid, hi, dst);
    }
    starts = next;
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Keys [lo, mid) and [mid, hi) of `src`, each ascending, merged into dst[lo, hi). Ties: the left run's first. */
function mergeTwo(src: Uint32Array, lo: number, mid: number, hi: number, dst: Uint32Array): void {
  if (mid === hi || !keyLess(src, mid, src, mid - 1)) {
    dst.set(src.subarray(2 * lo, 2 * hi), 2 * lo); // one run, or two already in order
    return;
  }
  let i = lo;
  let j = mid;
  let o = 2 * lo;
  while (i < mid && j < hi) {
    if (keyLess(src, j, src, i)) {
      dst[o] = src[2 * j]!;
      dst[o + 1] = src[2 * j + 1]!;
      j++;
    } else {
      dst[o] = src[2 * i]!;
      dst[o + 1] = src[2 * i + 1]!;
      i++;
    }
    o += 2;
  }
  if (i < mid) dst.set(src.subarray(2 * i, 2 * mid), o);
  else if (j < hi) dst.set(src.subarray(2 * j, 2 * hi), o);
}

/** Key i of `a` < key j of `b` (high words first, unsigned). */
function keyLess(a: Uint32Array, i: number, b: Uint32Array, j: number): boolean {
  const ah = a[2 * i + 1]!;
  const bh = b[2 * j + 1]!;
  return ah < bh || (ah === bh && a[2 * i]! < b[2 * j]!);
}
