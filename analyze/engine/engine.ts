/**
 * The small surface the analysis needs from a SQL engine. DuckDB implements it today (duckdb.ts); ClickHouse is
 * meant to follow, so the SQL the analysis sends keeps to what both understand where that costs nothing.
 */

/** A row as plain JS values: BIGINT/UBIGINT as bigint, BLOB as Uint8Array, lists as arrays, NULL as null. */
export type Row = Record<string, unknown>;

export interface Engine {
  /** Runs statements that return nothing useful (DDL, INSERT ... SELECT). */
  exec(sql: string): Promise<void>;
  /** Runs one query and returns every row. Keep results small: aggregate in SQL first. */
  query<T = Row>(sql: string): Promise<T[]>;
  /** Creates (or replaces) `table` from Parquet files; returns its row count. */
  loadParquet(table: string, files: readonly string[]): Promise<number>;
  /** Writes the result of `sql` (a query or a table name) to a zstd Parquet file. */
  writeParquet(sql: string, file: string): Promise<void>;
  /**
   * Appends rows to an existing table, values in the table's column order. Values: string, number (INTEGER or
   * DOUBLE columns), bigint (BIGINT/UBIGINT), boolean, Uint8Array (BLOB), null.
   */
  insertRows(table: string, rows: readonly (readonly unknown[])[]): Promise<void>;
  close(): void;
}

/** Quotes a string literal for SQL (both engines use doubled single quotes). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
