import type { ColumnBatch, ColumnChunk, ColumnType, TableSchema } from './columns.js';

/**
 * The small surface the analysis needs from a SQL engine. DuckDB (duckdb.ts) is the embedded default; ClickHouse
 * implements the same surface. Steps write their SQL in the subset both engines read, and reach for `dialect` for
 * the few constructs that differ, so nothing outside engine/ knows which engine runs.
 */

/** A row as plain JS values: BIGINT/UBIGINT as bigint, BLOB as Uint8Array, lists as arrays, NULL as null. */
export type Row = Record<string, unknown>;

/** Limits an analysis runs within. */
export interface EngineSettings {
  /** Engine memory limit in bytes (the engine spills to `tempDir` beyond it). */
  memoryBytes?: number;
  /** Where the engine spills (default: its own choice next to the database). */
  tempDir?: string;
  /** Engine worker threads (default: all cores). */
  threads?: number;
}

/** SQL that differs between engines. */
export interface Dialect {
  readonly name: 'duckdb' | 'clickhouse';
  /** `CREATE OR REPLACE TABLE name AS select`, with a sort key for engines that need one. */
  createTableAs(name: string, select: string, orderBy?: string): string;
  /**
   * Like createTableAs, for a step's working table that it drops again: kept out of the database file where the
   * engine can (writing a table into DuckDB's file compresses and writes every column: about 7x the CPU of an
   * in-memory table, measured on 533 k spans). Only the statements of `exec`/`query`/`insertByName` see it, not `stream`.
   */
  createScratchTableAs(name: string, select: string): string;
  /** `CREATE OR REPLACE TABLE name (columns)`. */
  createTable(name: string, schema: TableSchema, orderBy?: string): string;
  /** Aggregate: the values of `expr` as a list ordered by `orderBy`. */
  listAgg(expr: string, orderBy: string): string;
  /** Element `i` (1-based) of a list expression. */
  listElement(list: string, i: number): string;
  /** A 64-bit hash of the expressions (unsigned). */
  hash(...exprs: string[]): string;
  /** The engine's name of a column type, for casts: `CAST(x AS ${d.type('UBIGINT')})`. */
  type(t: ColumnType): string;
  /**
   * A table expression over Parquet files (absolute paths) giving `columns` by name (every file has them; more
   * columns may come with it).
   */
  readParquet(files: readonly string[], columns: readonly string[]): string;
  /** Renames a table (`to` must not exist). */
  renameTable(from: string, to: string): string;
  /** An empty list of `t` values. */
  emptyList(t: ColumnType): string;
  /** The list of strings a JSON array text holds. */
  jsonStringList(json: string): string;
  /** The unsigned 64-bit number a text of exactly 16 lower-case hex digits spells (span ids); NULL for other text. */
  hexId64(expr: string): string;
  /** Aggregate: the product of `expr` over the group. */
  product(expr: string): string;
  /** Integer division of two integer expressions (`/` gives a double in both engines). */
  intDiv(a: string, b: string): string;
  /** A value (list, number, string) as JSON text. */
  toJson(expr: string): string;
  /**
   * A select-list expression that makes one row per integer from `from` to `to` (inclusive, BIGINT expressions),
   * each row holding that integer: an interval cut into the buckets it covers, for joins on a bucket key.
   */
  unnestRange(from: string, to: string): string;
  /** A string literal (the engines escape differently). For constants the code chooses, not captured data. */
  string(s: string): string;
  /** A select-list item: every column of the FROM clause except `columns`, in their order. */
  allColumnsExcept(columns: readonly string[]): string;
  /**
   * A stored table's row position in scan order (DuckDB's rowid), for ORDER BY: sorting by it keeps the order a
   * sorted scratch table was stored in without comparing its sort keys again. Null where the engine has none.
   */
  readonly scanPosition: string | null;
}

/** See Engine.updateFrom. */
export interface UpdateFrom {
  table: string;
  /** A query, aliased `e`. */
  source: string;
  /** The column `s` and `e` are matched on. */
  key: string;
  /** Column of `table` -> new value (an expression over `s` and `e`). */
  set: Record<string, string>;
  /** An extra condition over `s` and `e`. */
  where?: string;
}

/** A Parquet file's row count and column names. */
export interface ParquetInfo {
  rows: number;
  columns: string[];
}

/** How `stream` reads a query. */
export interface StreamOptions {
  /**
   * Rows of a query without ORDER BY come in the order its scan reads them: files in the order given, each file's
   * rows in file order (through filters and projections). Only for engines whose `scanOrder` is true.
   */
  scanOrder?: boolean;
}

export interface Engine {
  readonly dialect: Dialect;
  /** True if `stream` can keep the scan order (StreamOptions.scanOrder); else a reader must ORDER BY. */
  readonly scanOrder: boolean;
  /** Runs statements that return nothing useful (DDL, INSERT ... SELECT). */
  exec(sql: string): Promise<void>;
  /** Runs one query and returns every row. Keep results small: aggregate in SQL first. */
  query<T = Row>(sql: string): Promise<T[]>;
  /** Runs a query and hands its result to `onChunk` block by block, in order; memory stays bounded by one block. */
  stream(sql: string, onChunk: (chunk: ColumnChunk) => void | Promise<void>, opts?: StreamOptions): Promise<void>;
  /** Appends a batch to an existing table whose columns are the batch's schema, in bulk. */
  append(table: string, batch: ColumnBatch): Promise<void>;
  /**
   * `INSERT INTO table BY NAME select`: the select's columns go to the table's columns of the same names (the
   * others get NULL), in any order.
   */
  insertByName(table: string, select: string): Promise<void>;
  /**
   * `UPDATE table AS s SET col = expr, ... FROM (source) AS e WHERE s.key = e.key AND (where)`: rows of `table`
   * matched by `source` (at most one row per key; else any one of them) get the `set` expressions, which may use
   * both `s` (the row's old values) and `e`.
   */
  updateFrom(u: UpdateFrom): Promise<void>;
  /** Row count and column names of a Parquet file; throws when it cannot be read as Parquet. */
  describeParquet(file: string): Promise<ParquetInfo>;
  /**
   * describeParquet of many files in one pass over their footers, in the order given; null when one of them cannot
   * be read so (the caller then describes them one by one, to tell which). Optional: engines without it are asked
   * file by file.
   */
  describeParquets?(files: readonly string[]): Promise<ParquetInfo[] | null>;
  /** Creates (or replaces) `table` from Parquet files; returns its row count. */
  loadParquet(table: string, files: readonly string[]): Promise<number>;
  /**
   * Writes the result of `sql` (a query or a table name) to a zstd Parquet file; `scanOrder` as for `stream`
   * (rows in the order the scan reads them, for a query without ORDER BY).
   */
  writeParquet(sql: string, file: string, opts?: StreamOptions): Promise<void>;
  /**
   * Stores the rows of `select` in a working table in `orderBy` order (expressions over its columns) and returns
   * the name to read it by (DROP TABLE it when done). Every statement and `stream` can read it; it stays out of
   * the database file where the engine can. With `scanOrder`, a scan of it without ORDER BY (stream or
   * writeParquet with scanOrder) gives the rows in that order, and filtered scans keep it: several outputs read
   * one sort instead of sorting again each.
   */
  createSortedScratchTable(name: string, select: string, orderBy: string): Promise<string>;
  /**
   * Appends rows to an existing table, values in the table's column order. For small tables; large ones go
   * through `append`. Values: string, number, bigint, boolean, Uint8Array, null.
   */
  insertRows(table: string, rows: readonly (readonly unknown[])[]): Promise<void>;
  close(): void;
}

/** Quotes a string literal for SQL (both engines use doubled single quotes). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
