/**
 * Just enough of Thrift's compact protocol to write Parquet metadata (PageHeader, FileMetaData).
 * Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */

/** Compact protocol type ids. */
export const T = { BOOL_TRUE: 1, BOOL_FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, STRUCT: 12 } as const;

/** A struct to encode: fields by id, each a typed value. Fields with undefined values are left out. */
export type ThriftValue =
  | { t: typeof T.I32; v: number }
  | { t: typeof T.I64; v: bigint | number }
  | { t: typeof T.BINARY; v: string | Uint8Array }
  | { t: typeof T.STRUCT; v: ThriftStruct }
  | { t: typeof T.LIST; elem: typeof T.I32 | typeof T.BINARY | typeof T.STRUCT; v: (number | string | ThriftStruct)[] };
export type ThriftStruct = Record<number, ThriftValue | undefined>;

export const i32 = (v: number): ThriftValue => ({ t: T.I32, v });
export const i64 = (v: bigint | number): ThriftValue => ({ t: T.I64, v });
export const str = (v: string): ThriftValue => ({ t: T.BINARY, v });
export const struct = (v: ThriftStruct): ThriftValue => ({ t: T.STRUCT, v });
export const list = (elem: typeof T.I32 | typeof T.BINARY | typeof T.STRUCT, v: (number | string | ThriftStruct)[]): ThriftValue => ({ t: T.LIST, elem, v });

class Writer {
  private parts: number[] = [];
  private chunks: Buffer[] = [];
  byte(b: number): void {
    this.parts.push(b & 0xff);
  }
  varint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
  zigzag(n: bigint): void {
    this.varint((n << 1n) ^ (n >> 63n));
  }
  bytes(b: Uint8Array): void {
    this.flushParts();
    this.chunks.push(Buffer.from(b));
  }
  private flushParts(): void {
    if (this.parts.length) {
      this.chunks.push(Buffer.from(this.parts));
      this.parts = [];
    }
  }
  result(): Buffer {
    this.flushParts();
    return Buffer.concat(this.chunks);
  }
}

function writeElement(w: Writer, t: number, v: number | string | ThriftStruct): void {
  if (t === T.I32) w.zigzag(BigInt(v as number));
  else if (t === T.BINARY) {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as unknown as Uint8Array);
    w.varint(BigInt(b.length));
    w.bytes(b);
  } else writeStruct(w, v as ThriftStruct);
}

function writeStruct(w: Writer, s: ThriftStruct): void {
  let last = 0;
  const ids = Object.keys(s).map(Number).sort((a, b) => a - b);
  for (const id of ids) {
    const f = s[id];
    if (f === undefined) continue;
    const delta = id - last;
    if (delta > 0 && delta <= 15) w.byte((delta << 4) | f.t);
    else {
      w.byte(f.t);
      w.zigzag(BigInt(id));
    }
    last = id;
    switch (f.t) {
      case T.I32:
        w.zigzag(BigInt(f.v));
        break;
      case T.I64:
        w.zigzag(BigInt(f.v));
        break;
      case T.BINARY:
        writeElement(w, T.BINARY, f.v as string);
        break;
      case T.STRUCT:
        writeStruct(w, f.v);
        break;
      case T.LIST:
        if (f.v.length < 15) w.byte((f.v.length << 4) | f.elem);
        else {
          w.byte(0xf0 | f.elem);
          w.varint(BigInt(f.v.length));
        }
        for (const e of f.v) writeElement(w, f.elem, e);
        break;
    }
  }
  w.byte(0); // stop field
}

/** Encode a struct with the compact protocol. */
export function encodeStruct(s: ThriftStruct): Buffer {
  const w = new Writer();
  writeStruct(w, s);
  return w.result();
}
