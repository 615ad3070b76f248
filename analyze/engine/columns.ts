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
      const n = new Uint8Array(this.nulls.length * 2);
      n.set(this.nulls);
      this.nulls = n;
    }
    this.nulls[this.length] = isNull ? 1 : 0;
  }
  abstract clear(): void;
}

export class BigIntColumn extends Column<bigint> {
  private data = new BigInt64Array(INITIAL);
  push(v: bigint | null): void {
    if (this.length >= this.data.length) {
      const n = new BigInt64Array(this.data.length * 2);
      n.set(this.data);
      this.data = n;
    }
    this.markNull(v === null);
    this.data[this.length++] = v ?? 0n;
  }
  get(i: number): bigint | null {
    return this.nulls[i] ? null : this.data[i]!;
  }
  clear(): void {
    this.length = 0;
  }
}

/** UBIGINT values (conn ids, TCP sequence numbers): stored unsigned. */
export class UBigIntColumn extends Column<bigint> {
  private data = new BigUint64Array(INITIAL);
  push(v: bigint | null): void {
    if (this.length >= this.data.length) {
      const n = new BigUint64Array(this.data.length * 2);
      n.set(this.data);
      this.data = n;
    }
    this.markNull(v === null);
    this.data[this.length++] = v ?? 0n;
  }
  get(i: number): bigint | null {
    return this.nulls[i] ? null : this.data[i]!;
  }
  clear(): void {
    this.length = 0;
  }
}

export class NumberColumn extends Column<number> {
  private data = new Float64Array(INITIAL);
  push(v: number | null): void {
    if (this.length >= this.data.length) {
      const n = new Float64Array(this.data.length * 2);
      n.set(this.data);
      this.data = n;
    }
    this.markNull(v === null);
    this.data[this.length++] = v ?? 0;
  }
  get(i: number): number | null {
    return this.nulls[i] ? null : this.data[i]!;
  }
  clear(): void {
    this.length = 0;
  }
}

/** Strings, booleans and blobs: plain arrays (their values are objects anyway). */
export class ValueColumn<T extends string | boolean | Uint8Array> extends Column<T> {
  private data: (T | null)[] = [];
  push(v: T | null): void {
    this.markNull(v === null);
    this.data[this.length++] = v;
  }
  get(i: number): T | null {
    return this.data[i] ?? null;
  }
  clear(): void {
    this.length = 0;
    this.data = [];
  }
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
}
