import type { Chunk } from './types.js';

/**
 * The bytes of one direction of one connection as a single stream of positions 0..length, built from syscall
 * chunks whose tails may not have been captured (gaps). Parsers read the captured bytes at a position and use
 * lengths from the protocol (Content-Length, packet length, frame size) to step over gaps.
 *
 * The stream grows: chunks are pushed as the analysis reads them, and chunks wholly before the position the
 * parser has reached are dropped, so a long connection is parsed in bounded memory. Until `final` is set, the end
 * of the stream is only the end of what arrived so far: a frame that runs past it needs more data. Chunk indexes
 * are absolute (they keep counting across dropped chunks).
 */
/** What a dropped chunk's slot holds until the list is compacted (the chunk itself can be collected at once). */
const DROPPED: Chunk = { tsNs: 0n, tid: 0, bytes: 0, data: new Uint8Array(0) };
/** Dropped slots at the front of the list after which it is compacted (when they are most of it). */
const COMPACT_AFTER = 64;

export class GappedStream {
  /**
   * Retained chunks and the stream offset where each starts, in slots [head, end); index 0 is absolute chunk
   * `dropped`. Slots past `end` are free (DROPPED): the arrays keep their size when the list is compacted, so a
   * long connection's stream does not grow them again and again (~58 MB of backing stores per parse pass of the
   * 1 M bench set when each compaction made new ones).
   */
  private list: Chunk[] = [];
  private starts: number[] = [];
  private head = 0;
  private end = 0;
  private dropped = 0;
  /**
   * List index of the chunk the last lookup found. Parsers look up the same position several times per frame
   * (header, head, times, thread, sequence number) and then the positions just after it, so most lookups hit this
   * chunk or the next one: checked before the binary search (measured: ~8 lookups per MySQL packet).
   */
  private hint = 0;
  /** Total bytes moved by all chunks pushed so far (captured or not). */
  length = 0;
  /** True once no chunk will be pushed any more. */
  final: boolean;

  /** A stream of the given chunks; `final` false makes it growable with push(). */
  constructor(chunks: readonly Chunk[] = [], final = true) {
    for (const c of chunks) this.push(c);
    this.final = final;
  }

  push(c: Chunk): void {
    if (this.end < this.list.length) {
      this.list[this.end] = c;
      this.starts[this.end] = this.length;
    } else {
      this.list.push(c);
      this.starts.push(this.length);
    }
    this.end++;
    this.length += Math.max(c.bytes, c.data.length);
  }

  /** Forgets chunks that end at or before `pos` (the parser will never read before it again). */
  dropBefore(pos: number): void {
    let n = this.head;
    while (n < this.end - 1 && this.starts[n + 1]! <= pos) n++;
    if (n === this.head) return;
    this.dropped += n - this.head;
    for (let k = this.head; k < n; k++) this.list[k] = DROPPED;
    this.head = n;
    if (this.head >= COMPACT_AFTER && this.head * 2 > this.end) {
      // The retained slots move to the front, in place; the slots they leave are freed.
      const { list, starts, head } = this;
      const kept = this.end - head;
      for (let k = 0; k < kept; k++) {
        list[k] = list[head + k]!;
        starts[k] = starts[head + k]!;
      }
      for (let k = Math.max(kept, head); k < this.end; k++) list[k] = DROPPED;
      this.end = kept;
      this.hint = Math.max(0, this.hint - head);
      this.head = 0;
    }
  }

  /** The retained chunks, oldest first. */
  get chunks(): readonly Chunk[] {
    return this.list.slice(this.head, this.end);
  }

  /** Absolute index one past the last chunk pushed. */
  get chunkCount(): number {
    return this.dropped + this.end - this.head;
  }

  /** Chunk at absolute index `i` (must be retained). */
  chunk(i: number): Chunk {
    const k = i - this.dropped + this.head;
    if (k < this.head || k >= this.end) throw new RangeError(`gappedStream: chunk ${i} not retained`);
    return this.list[k]!;
  }

  /** Absolute index of the chunk holding stream offset `pos` (-1 past the end or before the retained chunks). */
  chunkIndexAt(pos: number): number {
    if (pos < 0 || pos >= this.length || this.head >= this.end || pos < this.starts[this.head]!) return -1;
    const starts = this.starts;
    const last = this.end - 1;
    let h = this.hint;
    if (h >= this.head && h <= last && starts[h]! <= pos) {
      if (h === last || pos < starts[h + 1]!) return h - this.head + this.dropped;
      h++;
      if (h === last || pos < starts[h + 1]!) {
        this.hint = h;
        return h - this.head + this.dropped;
      }
    }
    let lo = this.head;
    let hi = this.end - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    this.hint = lo;
    return lo - this.head + this.dropped;
  }

  /** Stream offset where chunk `index` (absolute) starts. */
  chunkStart(index: number): number {
    return this.starts[index - this.dropped + this.head]!;
  }

  /** The chunk holding `pos`; throws outside the retained stream (a parser bug, not bad input). */
  chunkAt(pos: number): Chunk {
    const i = this.chunkIndexAt(pos);
    if (i < 0) throw new RangeError(`gappedStream: position ${pos} outside the retained stream (length ${this.length})`);
    return this.chunk(i);
  }

  /**
   * Captured bytes that follow `pos` without a gap, across chunk boundaries (a message split over several
   * fully captured syscalls reads as one run). Empty if `pos` is inside a gap or at the end.
   */
  contiguousAt(pos: number, max = Number.POSITIVE_INFINITY): Uint8Array {
    const abs = this.chunkIndexAt(pos);
    if (abs < 0) return new Uint8Array(0);
    let i = abs - this.dropped + this.head;
    let off = pos - this.starts[i]!;
    const first = this.list[i]!;
    if (off >= first.data.length) return new Uint8Array(0); // inside the chunk's gap
    // The common case: the run ends in this chunk (enough bytes, or a gap or the end follows).
    const avail = first.data.length - off;
    if (avail >= max || first.data.length < first.bytes || i + 1 >= this.end) {
      return first.data.subarray(off, off + Math.min(avail, max));
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    while (i < this.end && total < max) {
      const c = this.list[i]!;
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

  /**
   * Copies the first bytes of contiguousAt(pos, into.length) into `into` and returns how many there are: for the
   * few header bytes a parser reads at every frame, without making a view per frame.
   */
  peek(pos: number, into: Uint8Array): number {
    const abs = this.chunkIndexAt(pos);
    if (abs < 0) return 0;
    let i = abs - this.dropped + this.head;
    let off = pos - this.starts[i]!;
    const max = into.length;
    let n = 0;
    while (i < this.end && n < max) {
      const c = this.list[i]!;
      const d = c.data;
      if (off >= d.length) break; // inside this chunk's gap
      while (off < d.length && n < max) into[n++] = d[off++]!;
      if (d.length < c.bytes) break; // this chunk ends with a gap
      i++;
      off = 0;
    }
    return n;
  }

  /** True if the byte at `pos` was captured (contiguousAt(pos, 1) is not empty, without making a view). */
  capturedAt(pos: number): boolean {
    const abs = this.chunkIndexAt(pos);
    if (abs < 0) return false;
    const i = abs - this.dropped + this.head;
    return pos - this.starts[i]! < this.list[i]!.data.length;
  }

  /** True if every byte of [pos, pos+n) was captured (as contiguousAt(pos, n).length >= n, without copying a run). */
  isCaptured(pos: number, n: number): boolean {
    if (n <= 0) return true;
    const abs = this.chunkIndexAt(pos);
    if (abs < 0) return false;
    let i = abs - this.dropped + this.head;
    let off = pos - this.starts[i]!;
    let total = 0;
    while (i < this.end) {
      const c = this.list[i]!;
      if (off >= c.data.length) return false; // inside this chunk's gap
      total += c.data.length - off;
      if (total >= n) return true;
      if (c.data.length < c.bytes) return false; // this chunk ends with a gap
      i++;
      off = 0;
    }
    return false;
  }

  /** Exit time of the syscall holding `pos` (the last byte of a frame gives the frame's end time). */
  tsAt(pos: number): bigint {
    return this.chunkAt(pos).tsNs;
  }

  /** Thread of the syscall holding `pos`. */
  tidAt(pos: number): number {
    return this.chunkAt(pos).tid;
  }

  /** TCP sequence number of stream position `pos`: its chunk's first-byte seq plus the offset, mod 2^32. */
  seqAt(pos: number): number | null {
    const i = this.chunkIndexAt(pos);
    if (i < 0) return null;
    const seq = this.chunk(i).tcpSeq;
    if (seq === null || seq === undefined) return null;
    return (seq + (pos - this.chunkStart(i))) % 0x100000000;
  }

  /** Start offset of the chunk after the one holding `pos` (a syscall boundary, used to resync), or -1. */
  nextChunkStart(pos: number): number {
    const i = this.chunkIndexAt(pos);
    if (i < 0 || i + 1 >= this.chunkCount) return -1;
    return this.chunkStart(i + 1);
  }
}
