import {
  DuckDBBlobVector,
  DuckDBInstance,
  DuckDBListVector,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
} from '@duckdb/node-api';
import { encoderFor, RowBinaryWriter, type StoreType } from './rowBinary.js';
import type { StoreColumn } from './storeSchema.js';

/** A DuckDB query over Parquet files, with its parameters (paths and names travel as parameters, not SQL text). */
export interface ParquetQuery {
  sql: string;
  params: DuckDBValue[];
  types: DuckDBType[];
}

/** The DuckDB type a query must give a store column so its JS values fit the column's encoder. */
export function duckdbType(t: StoreType): string {
  const inner = /^(?:Nullable|Array)\((.*)\)$/.exec(t);
  const base = (inner ? inner[1] : t) as string;
  const map: Record<string, string> = {
    String: 'VARCHAR',
    Bytes: 'BLOB',
    Int32: 'INTEGER',
    Int64: 'BIGINT',
    UInt8: 'UTINYINT',
    UInt16: 'USMALLINT',
    UInt32: 'UINTEGER',
    UInt64: 'UBIGINT',
    Float64: 'DOUBLE',
    Bool: 'BOOLEAN',
    DateTime: 'UINTEGER',
  };
  return t.startsWith('Array(') ? `${map[base]}[]` : map[base]!;
}

/**
 * Reads Parquet through DuckDB (the reader nitrace uses everywhere) and turns its column chunks into RowBinary
 * without building row objects: each value goes from its vector straight into the output buffer.
 */
export class ParquetRows {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(): Promise<ParquetRows> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    return new ParquetRows(instance, await instance.connect());
  }

  /** Column names and DuckDB types of a query's result. */
  async describe(q: ParquetQuery): Promise<Map<string, string>> {
    const r = await this.conn.runAndReadAll(`DESCRIBE ${q.sql}`, q.params, q.types);
    return new Map(r.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
  }

  async count(q: ParquetQuery): Promise<number> {
    const r = await this.conn.runAndReadAll(`SELECT count(*) AS n FROM (${q.sql})`, q.params, q.types);
    return Number(r.getRowObjectsJS()[0]!.n);
  }

  /**
   * Yields RowBinary batches of about `batchBytes` for `columns` (the first `prefix` columns are constants
   * written by JS, e.g. dataset_id; the query gives the rest, in order). `onRows` counts rows as they are encoded.
   */
  async *rowBinary(
    q: ParquetQuery,
    columns: readonly StoreColumn[],
    prefix: readonly unknown[],
    onRows: (n: number) => void,
    batchBytes = 8 << 20,
  ): AsyncGenerator<Buffer> {
    const encoders = columns.map((c) => encoderFor(c.type, `column ${c.name}`));
    const fromQuery = columns.length - prefix.length;
    const w = new RowBinaryWriter();
    // Constants are encoded once and copied into every row.
    const prefixW = new RowBinaryWriter();
    prefix.forEach((v, i) => encoders[i]!(prefixW, v));
    const prefixBytes = prefixW.take();
    const result = await this.conn.stream(q.sql, q.params, q.types);
    if (result.columnCount !== fromQuery) throw new Error(`query gives ${result.columnCount} columns, the table needs ${fromQuery}`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const readers = Array.from({ length: fromQuery }, (_, c) => reader(chunk.getColumnVector(c)));
      const enc = encoders.slice(prefix.length);
      for (let i = 0; i < chunk.rowCount; i++) {
        w.bytesRaw(prefixBytes);
        for (let c = 0; c < fromQuery; c++) enc[c]!(w, readers[c]!(i));
      }
      onRows(chunk.rowCount);
      if (w.length >= batchBytes) yield w.take();
    }
    if (w.length > 0) yield w.take();
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** How to get one row's value out of a vector as the encoders expect it (blobs as bytes, lists as arrays). */
function reader(v: DuckDBVector): (i: number) => unknown {
  if (v instanceof DuckDBBlobVector) return (i) => v.getItemBytes(i);
  if (v instanceof DuckDBListVector) return (i) => v.getItem(i)?.items ?? null;
  return (i) => v.getItem(i);
}
