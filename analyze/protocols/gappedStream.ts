import type { Chunk } from './types.js';

/**
 * The bytes of one direction of one connection as a single stream of positions 0..length, built from syscall
 * chunks whose tails may not have been captured (gaps). Parsers read the captured bytes at a position and use
 * lengths from the protocol (Content-Length, packet length, frame size) to step over gaps.
 */
export class GappedStream {
  /** Stream offset where each chunk starts. */
  private readonly starts: number[] = [];
  /** Total bytes moved by all chunks (captured or not). */
  readonly length: number;

  constructor(readonly chunks: readonly Chunk[]) {
    let pos = 0;
    for (const c of chunks) {
      this.starts.push(pos);
      pos += Math.max(c.bytes, c.data.length);
    }
    this.length = pos;
  }

  /** Index of the chunk holding stream offset `pos` (-1 past the end). Binary search. */
  chunkIndexAt(pos: number): number {
    if (pos < 0 || pos >= this.length) return -1;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Stream offset where chunk `index` starts (0 <= index < chunks.length). */
  chunkStart(index: number): number {
    return this.starts[index]!;
  }

  /** The chunk holding `pos`; throws past the end (a parser bug, not bad input). */
  chunkAt(pos: number): Chunk {
    const i = this.chunkIndexAt(pos);
    if (i < 0) throw new RangeError(`gappedStream: position ${pos} outside 0..${this.length}`);
    return this.chunks[i]!;
  }

  /**
   * Captured bytes that follow `pos` without a gap, across chunk boundaries (a message split over several
   * fully captured syscalls reads as one run). Empty if `pos` is inside a gap or at the end.
   */
  contiguousAt(pos: number, max = Number.POSITIVE_INFINITY): Uint8Array {
    let i = this.chunkIndexAt(pos);
    if (i < 0) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    let total = 0;
    let off = pos - this.starts[i]!;
    while (i < this.chunks.length && total < max) {
      const c = this.chunks[i]!;
      if (off >= c.data.length) break; // inside this chunk's gap
      const part = c.data.subarray(off, Math.min(c.data.length, off + (max - total)));
      parts.push(part);
      total += part.length;
      if (c.data.length < c.bytes) break; // this chunk ends with a gap
      i++;
      off = 0;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** True if every byte of [pos, pos+n) was captured. */
  isCaptured(pos: number, n: number): boolean {
    return this.contiguousAt(pos, n).length >= n;
  }

  /** Exit time of the syscall holding `pos` (the last byte of a frame gives the frame's end time). */
  tsAt(pos: number): bigint {
    return this.chunkAt(pos).tsNs;
  }

  /** Thread of the syscall holding `pos`. */
  tidAt(pos: number): number {
    return this.chunkAt(pos).tid;
  }

  /** Start offset of the chunk after the one holding `pos` (a syscall boundary, used to resync), or -1. */
  nextChunkStart(pos: number): number {
    const i = this.chunkIndexAt(pos);
    if (i < 0 || i + 1 >= this.starts.length) return -1;
    return this.starts[i + 1]!;
  }
}
