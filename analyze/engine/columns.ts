/**
 * Rows in columns, the shape data crosses between JS and an engine in: parsers fill a ColumnBatch (typed arrays
 * for numbers, no object per row) and the engine appends it in bulk; queries stream back as ColumnChunks.
 */

/** Column types both engines store (DuckDB names; the ClickHouse dialect maps them). */
export type ColumnType = 'BIGINT' | 'UBIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'BLOB';

/** A table's columns in order: [name, type]. Defined once per table, next to the code that fills it. */
export type TableSchema = readonly (readonly [name: string, type: ColumnType])[];

/** `CREATE TABLE name (...)` column list of a schema. */
export function columnList(schema: TableSchema): string {
  return schema.map(([n, t]) => `${n} ${t}`).join(', ');
}

const INITIAL = 1024;

/** One growable column of a batch. `push(null)` stores NULL. */
export abstract class Column<T> {
  length = 0;
  protected nulls = new Uint8Array(INITIAL);
  abstract push(v: T | null): void;
  abstract get(i: number): T | null;
  isNull(i: number): boolean {
    return this.nulls[i] === 1;
  }
  protected markNull(isNull: boolean): void {
    if (this.length >= this.nulls.length) {
      const n = new Uint8Array(Math.max(INITIAL, this.nulls.length * 2));
      n.set(this.nulls);
      this.nulls = n;
    }
    this.nulls[this.length] = isNull ? 1 : 0;
  }
  abstract clear(): void;
  /** Nulls of rows [0, length): 1 = NULL (a view, valid until the next push). */
  nullFlags(): Uint8Array {
    return this.nulls.subarray(0, this.length);
  }
  /** The column's values as stored (typed array or JS array), for bulk appends and transfers; rows [0, length). */
  abstract values(): ArrayLike<unknown>;
  /** Replaces the content with transferred values (see ColumnBatch.fromTransfer). */
  abstract load(values: ArrayLike<unknown>, nulls: Uint8Array, length: number): void;
}

export class BigIntColumn extends Column<bigint> {
  private data = new BigInt64Array(INITIAL);
  /** The data's 32-bit halves (little-endian, as the engines read them): pushNumber's way in. */
  private halves = new Int32Array(this.data.buffer);
  push(v: bigint | null): void {
    this.grow();
    this.markNull(v === null);
    this.data[this.length++] = v ?? 0n;
  }
  /**
   * push(BigInt(v)) for an integer |v| < 2^53, written as its two 32-bit halves: no BigInt made per value (call
   * ids and byte counts, one per call side).
   */
  pushNumber(v: number | null): void {
    this.grow();
    this.markNull(v === null);
    writeHalves(this.halves, this.length++, v ?? 0);
  }
  private grow(): void {
    if (this.length < this.data.length) return;
    const n = new BigInt64Array(Math.max(INITIAL, this.data.length * 2));
    n.set(this.data);
    this.data = n;
    this.halves = new Int32Array(n.buffer);
  }
  get(i: number): bigint | null {
    return this.nulls[i] ? null : this.data[i]!;
  }
  values(): BigInt64Array {
    return this.data.subarray(0, this.length);
  }
  load(values: ArrayLike<unknown>, nulls: Uint8Array, length: number): void {
    this.data = values as BigInt64Array;
    this.halves = new Int32Array(this.data.buffer, this.data.byteOffset, this.data.length * 2);
    this.nulls = nulls;
    this.length = length;
  }
  clear(): void {
    this.length = 0;
  }
}

/** UBIGINT values (conn ids, TCP sequence numbers): stored unsigned. */
export class UBigIntColumn extends Column<bigint> {
  private data = new BigUint64Array(INITIAL);
  /** The data's 32-bit halves (see BigIntColumn). */
  private halves = new Int32Array(this.data.buffer);
  push(v: bigint | null): void {
    this.grow();
    this.markNull(v === null);
    this.data[this.length++] = v ?? 0n;
  }
  /** push(BigInt(v)) for an integer 0 <= v < 2^53 (TCP sequence numbers), without a BigInt per value. */
  pushNumber(v: number | null): void {
    this.grow();
    this.markNull(v === null);
    writeHalves(this.halves, this.length++, v ?? 0);
  }
  private grow(): void {
    if (this.length < this.data.length) return;
    const n = new BigUint64Array(Math.max(INITIAL, this.data.length * 2));
    n.set(this.data);
    this.data = n;
    this.halves = new Int32Array(n.buffer);
  }
  get(i: number): bigint | null {
    return this.nulls[i] ? null : this.data[i]!;
  }
  values(): BigUint64Array {
    return this.data.subarray(0, this.length);
  }
  load(values: ArrayLike<unknown>, nulls: Uint8Array, length: number): void {
    this.data = values as BigUint64Array;
    this.halves = new Int32Array(this.data.buffer, this.data.byteOffset, this.data.length * 2);
    this.nulls = nulls;
    this.length = length;
  }
  clear(): void {
    this.length = 0;
  }
}

export class NumberColumn extends Column<number> {
  private data = new Float64Array(INITIAL);
  push(v: number | null): void {
    if (this.length >= this.data.length) {
      const n = new Float64Array(Math.max(INITIAL, this.data.length * 2));
      n.set(this.data);
      this.data = n;
    }
    this.markNull(v === null);
    this.data[this.length++] = v ?? 0;
  }
  get(i: number): number | null {
    return this.nulls[i] ? null : this.data[i]!;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
  load(values: ArrayLike<unknown>, nulls: Uint8Array, length: number): void {
    this.data = values as Float64Array;
    this.nulls = nulls;
    this.length = length;
  }
  clear(): void {
    this.length = 0;
  }
}

/**
 * Strings, booleans and blobs: plain arrays (their values are objects anyway). Strings that crossed from a worker
 * as dictionary codes (ColumnBatch.fromTransfer) stay codes until a row is read one by one: an engine that can use
 * the codes (DuckDbEngine.append) never decodes them.
 */
export class ValueColumn<T extends string | boolean | Uint8Array> extends Column<T> {
  private data: (T | null)[] = [];
  private coded: DictionaryCodes | null = null;
  push(v: T | null): void {
    this.decode();
    this.markNull(v === null);
    this.data[this.length++] = v;
  }
  get(i: number): T | null {
    this.decode();
    return this.data[i] ?? null;
  }
  clear(): void {
    this.length = 0;
    // The array is written over from row 0 (a batch refilled after each flush does not grow it again from empty:
    // ~70 MB of backing stores per parse pass of the 1 M bench set); values() drops rows left past the length.
    if (this.coded) this.data = [];
    this.coded = null;
  }
  values(): (T | null)[] {
    this.decode();
    // Truncated in place (no copy): rows past the length are stale ones of before clear().
    if (this.data.length > this.length) this.data.length = this.length;
    return this.data;
  }
  load(values: ArrayLike<unknown>, nulls: Uint8Array, length: number): void {
    this.data = values as (T | null)[];
    this.coded = null;
    this.nulls = nulls;
    this.length = length;
  }
  /** Replaces the content with rows given as codes into a dictionary (see dictionaryEncode). */
  loadCoded(codes: Int32Array, dictionary: readonly string[], nulls: Uint8Array, length: number): void {
    this.data = [];
    this.coded = { codes, dictionary };
    this.nulls = nulls;
    this.length = length;
  }
  /** The rows as codes into a dictionary if they were loaded so and not read one by one since, else null. */
  dictionaryCodes(): DictionaryCodes | null {
    return this.coded;
  }
  private decode(): void {
    if (!this.coded) return;
    this.data = dictionaryDecode(this.coded.codes, this.coded.dictionary, this.nulls, this.length) as (T | null)[];
    this.coded = null;
  }
}

/** Rows as codes into their distinct values (NULL rows: any code). */
export interface DictionaryCodes {
  codes: Int32Array;
  dictionary: readonly string[];
}

type ColumnFor<T extends ColumnType> = T extends 'BIGINT'
  ? BigIntColumn
  : T extends 'UBIGINT'
    ? UBigIntColumn
    : T extends 'INTEGER' | 'DOUBLE'
      ? NumberColumn
      : T extends 'BOOLEAN'
        ? ValueColumn<boolean>
        : T extends 'BLOB'
          ? ValueColumn<Uint8Array>
          : ValueColumn<string>;

function newColumn(type: ColumnType): Column<never> {
  switch (type) {
    case 'BIGINT':
      return new BigIntColumn() as Column<never>;
    case 'UBIGINT':
      return new UBigIntColumn() as Column<never>;
    case 'INTEGER':
    case 'DOUBLE':
      return new NumberColumn() as Column<never>;
    default:
      return new ValueColumn() as Column<never>;
  }
}

/**
 * Rows of one table in columns. Producers take each column once (`batch.column('pid')`) and push one value per
 * column per row; `rows` is the shortest column's length, so a half-written row is never appended.
 */
export class ColumnBatch<S extends TableSchema = TableSchema> {
  readonly columns: Column<unknown>[];
  constructor(readonly schema: S) {
    this.columns = schema.map(([, t]) => newColumn(t));
  }
  column<N extends S[number][0]>(name: N): ColumnFor<Extract<S[number], readonly [N, ColumnType]>[1]> {
    const i = this.schema.findIndex(([n]) => n === name);
    if (i < 0) throw new Error(`columns: no column ${name}`);
    return this.columns[i] as never;
  }
  get rows(): number {
    let n = Number.POSITIVE_INFINITY;
    for (const c of this.columns) n = Math.min(n, c.length);
    return this.columns.length ? n : 0;
  }
  clear(): void {
    for (const c of this.columns) c.clear();
  }
  /**
   * The rows as plain data for postMessage (typed arrays copied into transferable buffers, listed in `transfer`);
   * `ColumnBatch.fromTransfer` rebuilds the batch on the other side. VARCHAR columns whose values repeat (node,
   * kind, protocol, method, status, SQL heads) travel as codes into a dictionary of their distinct values: a
   * structured clone copies every string it is given, and the receiver allocates each copy again (dev, 2.4 M short
   * strings: ~1.0 s CPU cloned one by one, ~0.4 s encoded, cloned and decoded).
   */
  toTransfer(): { batch: TransferredBatch; transfer: ArrayBuffer[] } {
    const rows = this.rows;
    const transfer: ArrayBuffer[] = [];
    const columns = this.columns.map((c, i): TransferredColumn => {
      const v = c.values();
      const nulls = c.nullFlags().slice(0, rows);
      transfer.push(nulls.buffer as ArrayBuffer);
      if (ArrayBuffer.isView(v)) {
        const copy = (v as unknown as { slice(a: number, b: number): ArrayBufferView }).slice(0, rows);
        transfer.push(copy.buffer as ArrayBuffer);
        return { values: copy as unknown as ArrayLike<unknown>, nulls };
      }
      if (this.schema[i]![1] === 'VARCHAR') {
        const coded = dictionaryEncode(v as ArrayLike<string | null>, nulls, rows);
        if (coded) {
          transfer.push(coded.codes.buffer as ArrayBuffer);
          return { values: coded.codes, nulls, dictionary: coded.dictionary };
        }
      }
      return { values: Array.prototype.slice.call(v, 0, rows) as unknown[], nulls };
    });
    return { batch: { rows, columns }, transfer };
  }
  /** A batch of `schema` holding transferred rows. */
  static fromTransfer<S extends TableSchema>(schema: S, t: TransferredBatch): ColumnBatch<S> {
    const b = new ColumnBatch(schema);
    b.columns.forEach((c, i) => {
      const col = t.columns[i]!;
      if (col.dictionary && c instanceof ValueColumn) c.loadCoded(col.values as Int32Array, col.dictionary, col.nulls, t.rows);
      else c.load(col.dictionary ? dictionaryDecode(col.values as Int32Array, col.dictionary, col.nulls, t.rows) : col.values, col.nulls, t.rows);
    });
    return b;
  }
}

/** A ColumnBatch's rows as structured-clone data (ColumnBatch.toTransfer). */
export interface TransferredBatch {
  rows: number;
  columns: TransferredColumn[];
}

/** One column of a TransferredBatch: its values, or codes (Int32Array) into `dictionary` if it has one. */
export interface TransferredColumn {
  values: ArrayLike<unknown>;
  nulls: Uint8Array;
  dictionary?: string[];
}

/**
 * Distinct values a dictionary may reach before encoding stops: a column of mostly distinct values (content ids)
 * is sent as it is, after at most this many lookups.
 */
const MAX_DICTIONARY = 4096;

/** Rows [0, rows) as codes into their distinct values (NULL rows: code 0), or null if there are too many values. */
export function dictionaryEncode(values: ArrayLike<string | null>, nulls: Uint8Array, rows: number): { codes: Int32Array; dictionary: string[] } | null {
  const codes = new Int32Array(rows);
  const dictionary: string[] = [];
  const index = new Map<string, number>();
  const limit = Math.min(MAX_DICTIONARY, rows >>> 2);
  for (let i = 0; i < rows; i++) {
    if (nulls[i]) continue;
    const v = values[i]!;
    let code = index.get(v);
    if (code === undefined) {
      if (dictionary.length >= limit) return null;
      code = dictionary.length;
      dictionary.push(v);
      index.set(v, code);
    }
    codes[i] = code;
  }
  return { codes, dictionary };
}

/** Writes the integer `v` (|v| < 2^53) as row `i` of a BIGINT's little-endian 32-bit halves. */
function writeHalves(halves: Int32Array, i: number, v: number): void {
  const low = v >>> 0;
  halves[2 * i] = low;
  halves[2 * i + 1] = (v - low) / 0x100000000;
}

/** The values dictionaryEncode encoded (NULL rows null). */
export function dictionaryDecode(codes: Int32Array, dictionary: readonly string[], nulls: Uint8Array, rows: number): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0; i < rows; i++) out.push(nulls[i] ? null : dictionary[codes[i]!]!);
  return out;
}

/** A block of rows read from the engine, column by column (a DuckDB data chunk or equivalent). */
export interface ColumnChunk {
  readonly rowCount: number;
  /** Column `i` as typed accessors; values are null for SQL NULL. */
  bigint(col: number, row: number): bigint | null;
  number(col: number, row: number): number | null;
  string(col: number, row: number): string | null;
  bytes(col: number, row: number): Uint8Array | null;
  boolean(col: number, row: number): boolean | null;
  /** Optional fast path for copyColumn (an engine that can copy a whole vector at once). */
  copyColumn?(col: number, type: CopiedColumnType): CopiedColumn;
}

/** Column types copyColumn can copy out of a chunk. */
export type CopiedColumnType = 'BIGINT' | 'UBIGINT' | 'INTEGER' | 'BLOB';

/**
 * One column of a chunk copied into memory JS owns (transferable to a worker): numbers as a typed array
 * (BIGINT BigInt64Array, UBIGINT BigUint64Array, INTEGER Int32Array), blobs as one byte array with offsets
 * (row i is bytes[offsets[i], offsets[i+1]); NULL reads as empty); `nulls[i]` 1 for SQL NULL, or null if none.
 */
export interface CopiedColumn {
  values: BigInt64Array | BigUint64Array | Int32Array | null;
  bytes: Uint8Array | null;
  offsets: Uint32Array | null;
  nulls: Uint8Array | null;
}

/** Copies column `col` of `chunk` out as a CopiedColumn (the engine's fast path if it has one). */
export function copyColumn(chunk: ColumnChunk, col: number, type: CopiedColumnType): CopiedColumn {
  if (chunk.copyColumn) return chunk.copyColumn(col, type);
  const n = chunk.rowCount;
  let nulls: Uint8Array | null = null;
  const markNull = (i: number): void => {
    (nulls ??= new Uint8Array(n))[i] = 1;
  };
  if (type === 'BLOB') {
    const parts: Uint8Array[] = [];
    const offsets = new Uint32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const b = chunk.bytes(col, i);
      if (b === null) markNull(i);
      else {
        parts.push(b);
        total += b.length;
      }
      offsets[i + 1] = total;
    }
    const bytes = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    return { values: null, bytes, offsets, nulls };
  }
  if (type === 'INTEGER') {
    const values = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = chunk.number(col, i);
      if (v === null) markNull(i);
      else values[i] = v;
    }
    return { values, bytes: null, offsets: null, nulls };
  }
  const values = type === 'BIGINT' ? new BigInt64Array(n) : new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    const v = chunk.bigint(col, i);
    if (v === null) markNull(i);
    else values[i] = v;
  }
  return { values, bytes: null, offsets: null, nulls };
}
