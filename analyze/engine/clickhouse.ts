import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClickHouseModules, type Arrow, type Chdb, type ChdbSession as Session } from './clickhouseModules.js';
import { NitraceError } from '../../core/errors.js';
import { columnList, type ColumnBatch, type ColumnChunk, type ColumnType, type TableSchema } from './columns.js';
import type { Dialect, Engine, Row } from './engine.js';

/**
 * The analysis engine on embedded ClickHouse (npm `chdb`: ClickHouse 26.7 inside this process), results read as
 * Arrow (`apache-arrow`). Both are optionalDependencies (~550 MB): `open` says how to get them when missing.
 *
 * Dialect notes for the portable SQL: ClickHouse has one String type for text and bytes, so results come back
 * as JS strings unless a column is named in `binaryColumns` (then Uint8Array); strings and file names travel as
 * query parameters ({name:String}), never in SQL text.
 */
export class ClickHouseEngine implements Engine {
  readonly dialect = clickhouseDialect;
  private constructor(
    private readonly chdb: Chdb,
    private readonly arrow: Arrow,
    private readonly session: Session,
    private readonly tempDir: string,
    /** Result columns returned as bytes (ClickHouse's String holds both; DuckDB calls these BLOB). */
    private readonly binaryColumns: ReadonlySet<string>,
  ) {}

  /** `path`: a directory for the database (kept), or none for a temporary one. */
  static async open(path?: string, opts: { binaryColumns?: readonly string[] } = {}): Promise<ClickHouseEngine> {
    const { chdb, arrow } = await loadClickHouseModules();
    const session = path ? new chdb.Session(path) : new chdb.Session();
    const tempDir = mkdtempSync(join(tmpdir(), 'nitrace-chdb-'));
    return new ClickHouseEngine(chdb, arrow, session, tempDir, new Set(opts.binaryColumns ?? ['payload']));
  }

  async exec(sql: string): Promise<void> {
    await this.run(sql, {});
  }

  async query<T = Row>(sql: string): Promise<T[]> {
    return this.rows<T>(sql, {});
  }

  /** A query with parameters ({name:Type} in the SQL). */
  async queryBind<T = Row>(sql: string, params: Record<string, unknown>): Promise<T[]> {
    return this.rows<T>(sql, params);
  }

  async loadParquet(table: string, files: readonly string[]): Promise<number> {
    if (files.length === 0) throw new Error(`loadParquet ${table}: no files`);
    // union_by_name as DuckDB does it: every file's columns, NULL where a file lacks one (capture schema 1 vs 2).
    const schemas: Map<string, string>[] = [];
    for (const f of files) {
      const cols = await this.rows<{ name: string; type: string }>('DESCRIBE file({f:String}, Parquet)', { f });
      schemas.push(new Map(cols.map((c) => [c.name, c.type])));
    }
    const all = new Map<string, string>();
    for (const s of schemas) for (const [n, t] of s) if (!all.has(n)) all.set(n, t);
    const params: Record<string, unknown> = {};
    const selects = files.map((f, i) => {
      params[`f${i}`] = f;
      const cols = [...all].map(([n, t]) => (schemas[i]!.has(n) ? quoteId(n) : `CAST(NULL AS ${nullable(t)}) AS ${quoteId(n)}`));
      return `SELECT ${cols.join(', ')} FROM file({f${i}:String}, Parquet)`;
    });
    await this.run(`DROP TABLE IF EXISTS ${table}`, {});
    await this.run(`CREATE TABLE ${table} ENGINE = MergeTree ORDER BY tuple() AS ${selects.join(' UNION ALL ')}`, params);
    const [row] = await this.rows<{ n: bigint }>(`SELECT count() AS n FROM ${table}`, {});
    return Number(row?.n ?? 0n);
  }

  async writeParquet(sql: string, file: string): Promise<void> {
    const source = /^\s*select\b|^\s*with\b/i.test(sql) ? sql : `SELECT * FROM ${sql}`;
    await this.run(
      `INSERT INTO FUNCTION file({file:String}, Parquet) ${source}
       SETTINGS engine_file_truncate_on_insert = 1, output_format_parquet_compression_method = 'zstd', output_format_parquet_string_as_string = 1`,
      { file },
    );
  }

  async insertRows(table: string, rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    // Bytes would be written as a JSON number list by chdb's row insert: send them through a temp file as Arrow.
    if (rows.some((r) => r.some((v) => v instanceof Uint8Array))) {
      throw new Error(`insertRows ${table}: byte values are not supported by the ClickHouse engine yet`);
    }
    await this.session.insert({ table, values: rows as unknown[][] });
  }

  /** First cut (lead, for the new Engine interface): reads the whole result, then hands it on in blocks. */
  async stream(sql: string, onChunk: (chunk: ColumnChunk) => void | Promise<void>): Promise<void> {
    const rows = await this.rows<Record<string, unknown>>(sql, {});
    for (let off = 0; off < rows.length; off += 2048) await onChunk(new RowsChunk(rows.slice(off, off + 2048)));
  }

  /** First cut (lead): rows through insertRows. */
  async append(table: string, batch: ColumnBatch): Promise<void> {
    const rows: unknown[][] = [];
    for (let i = 0; i < batch.rows; i++) rows.push(batch.columns.map((c) => c.get(i)));
    await this.insertRows(table, rows);
  }

  close(): void {
    this.session.cleanup();
    rmSync(this.tempDir, { recursive: true, force: true });
  }

  private async run(sql: string, params: Record<string, unknown>): Promise<Uint8Array> {
    try {
      const r =
        Object.keys(params).length > 0
          ? await this.session.queryBindAsync(sql, params, { format: 'ArrowStream' })
          : await this.session.queryAsync(sql, { format: 'ArrowStream' });
      return r.bytes();
    } catch (e) {
      throw new Error(`ClickHouse: ${(e as Error).message.split('\n', 1)[0]}\n  in: ${sql.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
  }

  private async rows<T>(sql: string, params: Record<string, unknown>): Promise<T[]> {
    const settings = "output_format_arrow_string_as_string = 0, output_format_arrow_compression_method = 'none'";
    const bytes = await this.run(/\bSETTINGS\b/i.test(sql) ? `${sql}, ${settings}` : `${sql} SETTINGS ${settings}`, params);
    if (bytes.length === 0) return [];
    const table = this.arrow.tableFromIPC(bytes);
    const names = table.schema.fields.map((f) => f.name);
    const columns = names.map((n) => table.getChild(n)!);
    const decoder = new TextDecoder();
    const value = (name: string, v: unknown): unknown => {
      if (v instanceof Uint8Array) return this.binaryColumns.has(name) ? v : decoder.decode(v);
      if (v !== null && typeof v === 'object' && 'toArray' in v) return Array.from((v as { toArray(): ArrayLike<unknown> }).toArray(), (x) => value(name, x));
      return v ?? null;
    };
    const out: T[] = [];
    for (let i = 0; i < table.numRows; i++) {
      const row: Record<string, unknown> = {};
      names.forEach((n, c) => (row[n] = value(n, columns[c]!.get(i))));
      out.push(row as T);
    }
    return out;
  }
}

function quoteId(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

function nullable(type: string): string {
  return type.startsWith('Nullable(') || type.startsWith('Array(') || type.startsWith('LowCardinality(') ? type : `Nullable(${type})`;
}

const CLICKHOUSE_TYPES: Record<ColumnType, string> = {
  BIGINT: 'Nullable(Int64)', UBIGINT: 'Nullable(UInt64)', INTEGER: 'Nullable(Int32)', DOUBLE: 'Nullable(Float64)',
  BOOLEAN: 'Nullable(Bool)', VARCHAR: 'Nullable(String)', BLOB: 'Nullable(String)',
};

/** First cut (lead) of the ClickHouse dialect for the portable analysis SQL; H3 owns it from here. */
export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  createTableAs: (name, select, orderBy) => `CREATE OR REPLACE TABLE ${name} ENGINE = MergeTree ORDER BY ${orderBy ?? 'tuple()'} AS ${select}`,
  createTable: (name, schema: TableSchema, orderBy) =>
    `CREATE OR REPLACE TABLE ${name} (${schema.map(([n, t]) => `${n} ${CLICKHOUSE_TYPES[t]}`).join(', ')}) ENGINE = MergeTree ORDER BY ${orderBy ?? 'tuple()'}`,
  listAgg: (expr, orderBy) => `arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((${orderBy.replace(/\s+(ASC|DESC)\b/gi, '')}, ${expr}))))`,
  listElement: (list, i) => `arrayElement(${list}, ${i})`,
  hash: (...exprs) => `cityHash64(${exprs.join(', ')})`,
};
void columnList;

/** Rows already in JS behind the ColumnChunk accessors (column i = the i-th key). */
class RowsChunk implements ColumnChunk {
  private readonly keys: string[];
  constructor(private readonly rowsIn: Record<string, unknown>[]) {
    this.keys = rowsIn.length ? Object.keys(rowsIn[0]!) : [];
  }
  get rowCount(): number {
    return this.rowsIn.length;
  }
  private v(col: number, row: number): unknown {
    return this.rowsIn[row]![this.keys[col]!] ?? null;
  }
  bigint(col: number, row: number): bigint | null {
    const v = this.v(col, row);
    return v === null ? null : BigInt(v as number | bigint);
  }
  number(col: number, row: number): number | null {
    const v = this.v(col, row);
    return v === null ? null : Number(v);
  }
  string(col: number, row: number): string | null {
    const v = this.v(col, row);
    return v === null ? null : String(v);
  }
  bytes(col: number, row: number): Uint8Array | null {
    const v = this.v(col, row);
    return v === null ? null : v instanceof Uint8Array ? v : new TextEncoder().encode(String(v));
  }
  boolean(col: number, row: number): boolean | null {
    const v = this.v(col, row);
    return v === null ? null : Boolean(v);
  }
}
