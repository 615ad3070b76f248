import { SketchError } from './sketchError.js';

/**
 * Little helpers for the sketches' binary forms: unsigned LEB128 varints (counts are small most of the time),
 * little-endian float64 and length-prefixed byte strings. The reader checks every read against the end of the
 * buffer, so a truncated or damaged blob gives a SketchError naming the field instead of garbage.
 */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  /** A non-negative integer up to 2^53 as an unsigned LEB128 varint. */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`varint: ${v} is not a non-negative safe integer`);
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    return this.u8(v);
  }

  f64(v: number): this {
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.len, v, true);
    this.len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  string(s: string): this {
    return this.bytes(new TextEncoder().encode(s));
  }

  /** Raw bytes without a length prefix (the caller knows the length). */
  raw(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class ByteReader {
  offset = 0;
  constructor(
    private readonly buf: Uint8Array,
    /** Named in errors: 'hyperloglog blob', ... */
    private readonly what: string,
  ) {}

  private need(n: number, field: string): void {
    if (this.offset + n > this.buf.length) {
      throw new SketchError(`corrupt ${this.what}: truncated at byte ${this.offset} reading ${field} (${this.buf.length} bytes in all)`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.offset++]!;
  }

  varint(field: string): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(field);
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return v;
      scale *= 0x80;
    }
    throw new SketchError(`corrupt ${this.what}: varint ${field} longer than 8 bytes at byte ${this.offset}`);
  }

  f64(field: string): number {
    this.need(8, field);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset).getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  bytes(field: string): Uint8Array {
    const n = this.varint(`${field} length`);
    return this.raw(n, field);
  }

  string(field: string): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(field));
  }

  raw(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Throws unless every byte was read: trailing bytes mean the blob is not what its header says. */
  end(): void {
    if (this.offset !== this.buf.length) {
      throw new SketchError(`corrupt ${this.what}: ${this.buf.length - this.offset} unexpected trailing bytes after byte ${this.offset}`);
    }
  }
}
