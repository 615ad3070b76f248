import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { sqlString, type Engine, type Row } from './engine.js';

/** The analysis engine on DuckDB (`@duckdb/node-api`); `path` ':memory:' or a database file users can reopen. */
export class DuckDbEngine implements Engine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(path = ':memory:'): Promise<DuckDbEngine> {
    const instance = await DuckDBInstance.create(path);
    return new DuckDbEngine(instance, await instance.connect());
  }

  async exec(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  async query<T = Row>(sql: string): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowObjectsJS() as T[];
  }

  async loadParquet(table: string, files: readonly string[]): Promise<number> {
    const list = `[${files.map(sqlString).join(', ')}]`;
    await this.exec(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM read_parquet(${list}, union_by_name = true)`);
    const [row] = await this.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(row?.n ?? 0n);
  }

  async writeParquet(sql: string, file: string): Promise<void> {
    const source = /^\s*select\b|^\s*with\b/i.test(sql) ? `(${sql})` : sql;
    await this.exec(`COPY ${source} TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
  }

  async insertRows(table: string, rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    const appender = await this.conn.createAppender(table);
    try {
      const types = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i).toString());
      for (const row of rows) {
        for (let i = 0; i < row.length; i++) appendValue(appender, types[i]!, row[i]);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** Appends one value, chosen by the column's declared type so JS numbers land in INTEGER or DOUBLE correctly. */
function appendValue(appender: DuckDBAppender, type: string, v: unknown): void {
  if (v === null || v === undefined) return appender.appendNull();
  if (typeof v === 'bigint') {
    if (type === 'UBIGINT') return appender.appendUBigInt(v);
    if (type === 'INTEGER') return appender.appendInteger(Number(v));
    return appender.appendBigInt(v);
  }
  if (typeof v === 'number') {
    if (type === 'DOUBLE' || type === 'FLOAT') return appender.appendDouble(v);
    if (type === 'BIGINT') return appender.appendBigInt(BigInt(Math.trunc(v)));
    if (type === 'UBIGINT') return appender.appendUBigInt(BigInt(Math.trunc(v)));
    return appender.appendInteger(v);
  }
  if (typeof v === 'boolean') return appender.appendBoolean(v);
  if (v instanceof Uint8Array) return appender.appendBlob(v);
  return appender.appendVarchar(String(v));
}
