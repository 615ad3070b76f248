/**
 * An append-only byte buffer that doubles when full: the PLAIN-encoded bytes of one spool column.
 * Small fields are copied with plain loops: Buffer.copy/fill cost ~100 ns a call, more than the copy itself.
 */
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
  copyFrom(src: Uint8Array, start: number, n: number, pad = 0): void {
    const at = this.reserve(n + pad);
    const b = this.buf;
    for (let i = 0; i < n; i++) b[at + i] = src[start + i]!;
    for (let i = n; i < n + pad; i++) b[at + i] = 0;
  }

  /** A PLAIN byte array: u32 length, then `n` bytes of `src` from `start`. */
  byteArray(src: Uint8Array, start = 0, n = src.length): void {
    const at = this.reserve(4 + n);
    const b = this.buf;
    b[at] = n & 0xff;
    b[at + 1] = (n >>> 8) & 0xff;
    b[at + 2] = (n >>> 16) & 0xff;
    b[at + 3] = n >>> 24;
    if (n > 64) b.set(src.subarray(start, start + n), at + 4);
    else for (let i = 0; i < n; i++) b[at + 4 + i] = src[start + i]!;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}
