/** An append-only byte buffer that doubles when full: the PLAIN-encoded bytes of one spool column. */
export class GrowableBuffer {
  buf: Buffer;
  length = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Make room for `n` more bytes; returns the offset to write at. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length = need;
    return at;
  }

  /** Copy `n` bytes of `src` from `start`, then `pad` zero bytes (widening little-endian integers). */
  copyFrom(src: Buffer, start: number, n: number, pad = 0): void {
    const at = this.reserve(n + pad);
    src.copy(this.buf, at, start, start + n);
    if (pad) this.buf.fill(0, at + n, at + n + pad);
  }

  /** A PLAIN byte array: u32 length, then the bytes. */
  byteArray(src: Uint8Array): void {
    const at = this.reserve(4 + src.length);
    this.buf.writeUInt32LE(src.length, at);
    this.buf.set(src, at + 4);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}
