import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  UBIGINT,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBVector,
} from '@duckdb/node-api';
import { columnList, type ColumnBatch, type ColumnChunk, type ColumnType, type TableSchema } from './columns.js';
import { sqlString, type Dialect, type Engine, type EngineSettings, type Row } from './engine.js';

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  createTableAs: (name, select) => `CREATE OR REPLACE TABLE ${name} AS ${select}`,
  createTable: (name, schema) => `CREATE OR REPLACE TABLE ${name} (${columnList(schema)})`,
  listAgg: (expr, orderBy) => `list(${expr} ORDER BY ${orderBy})`,
  listElement: (list, i) => `(${list})[${i}]`,
  hash: (...exprs) => `hash(${exprs.join(', ')})`,
};

const DUCK_TYPES: Record<ColumnType, DuckDBType> = {
  BIGINT,
  UBIGINT,
  INTEGER,
  DOUBLE,
  BOOLEAN,
  VARCHAR,
  BLOB,
};

/** Rows per data chunk appended (DuckDB's standard vector size). */
const CHUNK_ROWS = 2048;

/** The analysis engine on DuckDB (`@duckdb/node-api`); `path` ':memory:' or a database file users can reopen. */
export class DuckDbEngine implements Engine {
  readonly dialect = duckdbDialect;
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(path = ':memory:', settings: EngineSettings = {}): Promise<DuckDbEngine> {
    const options: Record<string, string> = {};
    if (settings.memoryBytes !== undefined) options.memory_limit = `${Math.max(64, Math.floor(settings.memoryBytes / 1048576))}MB`;
    if (settings.tempDir !== undefined) options.temp_directory = settings.tempDir;
    if (settings.threads !== undefined) options.threads = String(settings.threads);
    const instance = await DuckDBInstance.create(path, options);
    const conn = await instance.connect();
    // Insertion order is kept only where a query asks for it (ORDER BY): lets sorts and joins spill and run in parallel.
    await conn.run('SET preserve_insertion_order = false');
    return new DuckDbEngine(instance, conn);
  }

  async exec(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  async query<T = Row>(sql: string): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowObjectsJS() as T[];
  }

  async stream(sql: string, onChunk: (chunk: ColumnChunk) => void | Promise<void>): Promise<void> {
    // A connection of its own: another statement on the main connection (the consumer appending its results)
    // would end a streaming result still being read.
    const conn = await this.instance.connect();
    try {
      const result = await conn.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        await onChunk(new DuckChunk(chunk));
      }
    } finally {
      conn.closeSync();
    }
  }

  async append(table: string, batch: ColumnBatch): Promise<void> {
    const rows = batch.rows;
    if (rows === 0) return;
    const appender = await this.conn.createAppender(table);
    try {
      const types = batch.schema.map(([, t]) => DUCK_TYPES[t]);
      for (let off = 0; off < rows; off += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, rows - off);
        const chunk = DuckDBDataChunk.create(types, n);
        batch.columns.forEach((col, c) => {
          const v = chunk.getColumnVector(c) as DuckDBVector & { setItem(i: number, v: unknown): void; flush(): void };
          const blob = batch.schema[c]![1] === 'BLOB';
          for (let i = 0; i < n; i++) {
            const x = col.get(off + i);
            v.setItem(i, blob && x !== null ? new BlobValue(x as Uint8Array) : x);
          }
          v.flush();
        });
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
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

/** The blob vector's setItem wants a value object with `bytes`. */
class BlobValue {
  constructor(readonly bytes: Uint8Array) {}
}

/** A DuckDB data chunk behind the engine-neutral ColumnChunk accessors. */
class DuckChunk implements ColumnChunk {
  private readonly vectors: DuckDBVector[] = [];
  constructor(private readonly chunk: DuckDBDataChunk) {}
  get rowCount(): number {
    return this.chunk.rowCount;
  }
  private vector(col: number): DuckDBVector {
    return (this.vectors[col] ??= this.chunk.getColumnVector(col));
  }
  bigint(col: number, row: number): bigint | null {
    const v = this.vector(col).getItem(row);
    return v === null ? null : typeof v === 'bigint' ? v : BigInt(v as number);
  }
  number(col: number, row: number): number | null {
    const v = this.vector(col).getItem(row);
    return v === null ? null : Number(v);
  }
  string(col: number, row: number): string | null {
    const v = this.vector(col).getItem(row);
    return v === null ? null : String(v);
  }
  bytes(col: number, row: number): Uint8Array | null {
    return (this.vector(col) as DuckDBVector & { getItemBytes(i: number): Uint8Array | null }).getItemBytes(row);
  }
  boolean(col: number, row: number): boolean | null {
    const v = this.vector(col).getItem(row);
    return v === null ? null : Boolean(v);
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

export type { TableSchema };
