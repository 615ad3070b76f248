/**
 * ClickHouse's RowBinary input format, written from JS values. Chosen over the text formats because captured
 * payloads are arbitrary bytes (RowBinary's String is length + bytes, no escaping) and because every ClickHouse
 * from 18.16 (Debian 12) to today reads it: the data travels as data, never inside SQL text.
 * Format: https://clickhouse.com/docs/en/interfaces/formats#rowbinary (little-endian fixed-width numbers,
 * LEB128 lengths, Nullable = one byte 1/0 before the value, Array = LEB128 count + elements).
 */

/** Column types the store uses; `Bytes` is a ClickHouse String filled from a BLOB (payloads). */
export type BaseType = 'String' | 'Bytes' | 'Int32' | 'Int64' | 'UInt8' | 'UInt16' | 'UInt32' | 'UInt64' | 'Float64' | 'Bool' | 'DateTime';
export type StoreType = BaseType | `Nullable(${BaseType})` | `Array(${BaseType})`;

/** The ClickHouse spelling of a store type (Bytes -> String, Bool -> UInt8: 18.16 has no Bool). */
export function clickhouseType(t: StoreType): string {
  return t.replace('Bytes', 'String').replace('Bool', 'UInt8');
}

/** A growable byte buffer with the RowBinary primitives. */
export class RowBinaryWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  varUInt(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.length++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.length, v, true);
    this.length += 8;
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.length, v, true);
    this.length += 8;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.varUInt(n);
    this.ensure(n);
    this.length += this.buf.write(s, this.length, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.varUInt(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Bytes already in RowBinary form (e.g. a constant column encoded once). */
  bytesRaw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** The bytes written so far (a copy), and the writer emptied for reuse. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

/** Writes one value of a column; throws with `what` in the message when a value does not fit the type. */
export type Encoder = (w: RowBinaryWriter, v: unknown) => void;

/** The encoder for a store type. Numbers may arrive as number or bigint (DuckDB gives BIGINT as bigint). */
export function encoderFor(t: StoreType, what: string): Encoder {
  const nullable = /^Nullable\((.*)\)$/.exec(t);
  if (nullable) {
    const inner = encoderFor(nullable[1] as StoreType, what);
    return (w, v) => {
      if (v === null || v === undefined) return w.u8(1);
      w.u8(0);
      inner(w, v);
    };
  }
  const array = /^Array\((.*)\)$/.exec(t);
  if (array) {
    const inner = encoderFor(array[1] as StoreType, what);
    return (w, v) => {
      // A NULL list is stored as the empty array, and NULL elements are dropped: ClickHouse arrays of a
      // non-Nullable type have no NULL, and the lists nitrace writes (ports, ids, evidence kinds) never hold one.
      const items = v === null || v === undefined ? [] : (v as unknown[]).filter((x) => x !== null && x !== undefined);
      w.varUInt(items.length);
      for (const x of items) inner(w, x);
    };
  }
  const fail = (v: unknown): never => {
    throw new Error(`${what}: ${v === null || v === undefined ? 'NULL' : `${typeof v} ${String(v).slice(0, 40)}`} does not fit ${t}`);
  };
  switch (t as BaseType) {
    case 'String':
      return (w, v) => (typeof v === 'string' ? w.string(v) : v instanceof Uint8Array ? w.bytes(v) : fail(v));
    case 'Bytes':
      return (w, v) => (v instanceof Uint8Array ? w.bytes(v) : typeof v === 'string' ? w.string(v) : fail(v));
    case 'Int32':
      return (w, v) => (typeof v === 'number' || typeof v === 'bigint' ? w.i32(Number(v)) : fail(v));
    case 'UInt8':
      return (w, v) => (typeof v === 'number' || typeof v === 'bigint' ? w.u8(Number(v)) : fail(v));
    case 'UInt16':
      return (w, v) => (typeof v === 'number' || typeof v === 'bigint' ? w.u16(Number(v)) : fail(v));
    case 'UInt32':
    case 'DateTime':
      return (w, v) => (typeof v === 'number' || typeof v === 'bigint' ? w.u32(Number(v)) : fail(v));
    case 'Int64':
      return (w, v) => (typeof v === 'bigint' ? w.i64(v) : typeof v === 'number' && Number.isInteger(v) ? w.i64(BigInt(v)) : fail(v));
    case 'UInt64':
      return (w, v) => (typeof v === 'bigint' ? w.u64(v) : typeof v === 'number' && Number.isInteger(v) ? w.u64(BigInt(v)) : fail(v));
    case 'Float64':
      return (w, v) => (typeof v === 'number' || typeof v === 'bigint' ? w.f64(Number(v)) : fail(v));
    case 'Bool':
      return (w, v) => (typeof v === 'boolean' ? w.u8(v ? 1 : 0) : typeof v === 'number' ? w.u8(v ? 1 : 0) : fail(v));
    default:
      throw new Error(`store type ${t} has no encoder`);
  }
}
