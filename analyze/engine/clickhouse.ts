import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClickHouseModules, type Arrow, type ArrowDataType, type ArrowTable, type Chdb, type ChdbSession as Session } from './clickhouseModules.js';
import type { ColumnBatch, ColumnChunk, ColumnType, TableSchema } from './columns.js';
import type { Dialect, Engine, EngineSettings, ParquetInfo, Row, UpdateFrom } from './engine.js';

/** ClickHouse spellings of the engine-neutral column types (Nullable: SQL columns may be NULL, as in DuckDB). */
const CH_TYPES: Record<ColumnType, string> = {
  BIGINT: 'Int64',
  UBIGINT: 'UInt64',
  INTEGER: 'Int32',
  DOUBLE: 'Float64',
  BOOLEAN: 'Bool',
  VARCHAR: 'String',
  BLOB: 'String',
};

/**
 * `ORDER BY` inside an aggregate does not exist in ClickHouse: the list is built from (value, keys) tuples and
 * sorted by the keys. DESC is supported for numeric keys (negated), which is what the analysis sorts by.
 */
function listAgg(expr: string, orderBy: string): string {
  const distinct = /^\s*DISTINCT\s+/i.test(expr);
  const value = expr.replace(/^\s*DISTINCT\s+/i, '');
  const keys = orderBy.split(',').map((k) => {
    const m = /^\s*(.*?)\s+(ASC|DESC)\s*$/i.exec(k);
    return m && m[2]!.toUpperCase() === 'DESC' ? `-(${m[1]})` : m ? m[1]! : k.trim();
  });
  const tuples = `${distinct ? 'groupUniqArray' : 'groupArray'}(tuple(${value}, ${keys.join(', ')}))`;
  return `arrayMap(t -> t.1, arraySort(t -> tuple(${keys.map((_, i) => `t.${i + 2}`).join(', ')}), ${tuples}))`;
}

/** Tables are MergeTree (they spill to disk; Memory tables would hold everything in RAM); sort keys may be NULL. */
const mergeTree = (orderBy?: string) => `ENGINE = MergeTree ORDER BY ${orderBy ?? 'tuple()'} SETTINGS allow_nullable_key = 1`;

/** A ClickHouse string literal: backslashes are escapes there, unlike standard SQL. */
function chString(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  createTableAs: (name, select, orderBy) => `CREATE OR REPLACE TABLE ${name} ${mergeTree(orderBy)} AS ${select}`,
  // A table like any other: the engine's temporary tables belong to one session, and streams open their own.
  createScratchTableAs: (name, select) => `CREATE OR REPLACE TABLE ${name} ${mergeTree()} AS ${select}`,
  createTable: (name, schema, orderBy) =>
    `CREATE OR REPLACE TABLE ${name} (${schema.map(([n, t]) => `${n} Nullable(${CH_TYPES[t]})`).join(', ')}) ${mergeTree(orderBy)}`,
  listAgg,
  listElement: (list, i) => `(${list})[${i}]`,
  hash: (...exprs) => `cityHash64(${exprs.join(', ')})`,
  type: (t) => CH_TYPES[t],
  // file() reads one file per call (a path with glob characters would be a pattern, so describeParquet refuses
  // such paths first). Columns by name, in this order: every file read must have them.
  readParquet: (files, columns) =>
    `(${files.map((f) => `SELECT ${columns.map(quoteId).join(', ')} FROM file(${chString(f)}, Parquet)`).join(' UNION ALL ')})`,
  renameTable: (from, to) => `RENAME TABLE ${from} TO ${to}`,
  emptyList: (t) => `CAST([] AS Array(${CH_TYPES[t]}))`,
  jsonStringList: (json) => `JSONExtract(${json}, 'Array(String)')`,
  // CAST('0x...' AS UInt64) does not parse hex here: the 8 bytes unhex gives, read big-endian
  hexId64: (expr) => `if(match(${expr}, '^[0-9a-f]{16}$'), reinterpretAsUInt64(reverse(unhex(${expr}))), NULL)`,
  product: (expr) => `arrayProduct(groupArray(${expr}))`,
  intDiv: (a, b) => `intDiv(${a}, ${b})`,
  toJson: (expr) => `toJSONString(${expr})`,
  unnestRange: (from, to) => `arrayJoin(range(toInt64(${from}), toInt64(${to}) + 1))`,
  string: chString,
  allColumnsExcept: (columns) => `* EXCEPT (${columns.join(', ')})`,
  scanPosition: null,
};

/**
 * Settings that make ClickHouse answer portable SQL the way the SQL standard (and DuckDB) does: NULLs from outer
 * joins, nullable columns by default, NULL for aggregates of nothing, column names before aliases in WHERE.
 */
const SESSION_SETTINGS: Record<string, string | number> = {
  join_use_nulls: 1,
  data_type_default_nullable: 1,
  aggregate_functions_null_for_empty: 1,
  prefer_column_name_to_alias: 1,
  cast_keep_nullable: 1,
  default_table_engine: "'MergeTree'",
  create_table_empty_primary_key_by_default: 1,
  output_format_arrow_string_as_string: 0,
  output_format_arrow_compression_method: "'none'",
};

/**
 * DuckDB scalar functions the portable SQL uses, defined as ClickHouse SQL functions with DuckDB's results
 * (ClickHouse's own names are case-sensitive, so `sha256` is free while `SHA256` returns raw bytes).
 */
const DUCKDB_FUNCTIONS = [
  'CREATE OR REPLACE FUNCTION sha256 AS (x) -> lower(hex(SHA256(x)))',
  'CREATE OR REPLACE FUNCTION md5 AS (x) -> lower(hex(MD5(x)))',
  'CREATE OR REPLACE FUNCTION starts_with AS (s, p) -> startsWith(s, p)',
];

/**
 * The analysis engine on embedded ClickHouse (npm `chdb`: ClickHouse 26.7 in this process), results read as Arrow
 * (`apache-arrow`). Both are optionalDependencies (~550 MB); `open` says how to get them when missing.
 *
 * ClickHouse has one String type for text and bytes: `query` returns text except for the columns named in
 * `binaryColumns` (Uint8Array); `stream` chunks give both (`string()` / `bytes()`). Strings and file names in
 * queries the engine builds travel as parameters ({name:String}).
 */
export class ClickHouseEngine implements Engine {
  readonly dialect = clickhouseDialect;
  /** Files of a UNION ALL and a file's blocks are read by several threads in any order. */
  readonly scanOrder = false;
  private constructor(
    private readonly arrow: Arrow,
    private readonly chdb: Chdb,
    private readonly session: Session,
    /** The data directory (removed on close when temporary). */
    private readonly path: string,
    private readonly setStatements: string[],
    private readonly scratch: string,
    private readonly temporary: boolean,
    private readonly binaryColumns: ReadonlySet<string>,
  ) {}

  /** `path`: a directory for the database (kept), or none (or ':memory:') for a temporary one. */
  static async open(path?: string, settings: EngineSettings & { binaryColumns?: readonly string[] } = {}): Promise<ClickHouseEngine> {
    const { chdb, arrow } = await loadClickHouseModules();
    const temporary = path === undefined || path === ':memory:';
    const dir = temporary ? mkdtempSync(join(tmpdir(), 'nitrace-chdb-')) : path;
    mkdirSync(dir, { recursive: true });
    const session = new chdb.Session(dir);
    const set = { ...SESSION_SETTINGS };
    if (settings.memoryBytes !== undefined) {
      set.max_memory_usage = settings.memoryBytes;
      // Sorts and aggregations spill to disk past half the limit instead of failing at it.
      set.max_bytes_before_external_sort = Math.floor(settings.memoryBytes / 2);
      set.max_bytes_before_external_group_by = Math.floor(settings.memoryBytes / 2);
    }
    if (settings.threads !== undefined) set.max_threads = settings.threads;
    const statements = Object.entries(set).map(([k, v]) => `SET ${k} = ${v}`);
    for (const s of statements) await session.queryAsync(s);
    for (const f of DUCKDB_FUNCTIONS) await session.queryAsync(f);
    const scratch = settings.tempDir ?? join(dir, 'nitrace-tmp');
    mkdirSync(scratch, { recursive: true });
    return new ClickHouseEngine(arrow, chdb, session, dir, statements, scratch, temporary, new Set(settings.binaryColumns ?? ['payload']));
  }

  async exec(sql: string): Promise<void> {
    await this.run(sql);
  }

  async query<T = Row>(sql: string): Promise<T[]> {
    return this.rows<T>(sql);
  }

  /** A query with parameters ({name:Type} in the SQL). */
  async queryBind<T = Row>(sql: string, params: Record<string, unknown>): Promise<T[]> {
    return this.rows<T>(sql, params);
  }

  async stream(sql: string, onChunk: (chunk: ColumnChunk) => void | Promise<void>): Promise<void> {
    // A session of its own on the same data: a query on the main one (the consumer appending its results) would
    // end a streaming result still being read. Each streamed block is a self-contained Arrow IPC stream.
    const reader = new this.chdb.Session(this.path);
    try {
      for (const s of this.setStatements) await reader.queryAsync(s);
      for await (const block of reader.queryStream(sql, { format: 'ArrowStream' })) {
        const table = this.arrow.tableFromIPC(block.raw());
        if (table.numRows > 0) await onChunk(new ArrowChunk(table));
      }
    } catch (e) {
      throw clickhouseError(e, sql);
    } finally {
      reader.close();
    }
  }

  async append(table: string, batch: ColumnBatch): Promise<void> {
    const rows = batch.rows;
    if (rows === 0) return;
    const vectors: Record<string, ReturnType<Arrow['vectorFromArray']>> = {};
    batch.schema.forEach(([name, type], c) => {
      const col = batch.columns[c]!;
      vectors[name] = this.arrow.vectorFromArray(Array.from({ length: rows }, (_, i) => col.get(i)), this.arrowType(type));
    });
    await this.insertArrow(table, new this.arrow.Table(vectors), batch.schema);
  }

  async insertByName(table: string, select: string): Promise<void> {
    const target = new Set((await this.columnsOf(table)).map((c) => c.name));
    const have = (await this.rows<{ name: string }>(`DESCRIBE (${select})`)).map((r) => r.name);
    // As DuckDB: a column the table lacks is an error (here often a join column ClickHouse named `m.node`).
    const unknown = have.filter((n) => !target.has(n));
    if (unknown.length > 0) throw new Error(`INSERT INTO ${table} BY NAME: no column ${unknown.join(', ')} in ${table} (alias join columns: ClickHouse names them by their qualified name)`);
    const cols = have.map(quoteId).join(', ');
    await this.run(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM (${select})`);
  }

  /**
   * ClickHouse's UPDATE takes no join: the table is rebuilt (a copy of its definition filled from a LEFT ANY JOIN
   * with the new values where matched), then swapped in.
   */
  async updateFrom(u: UpdateFrom): Promise<void> {
    const matched = `e.${u.key} IS NOT NULL${u.where ? ` AND (${u.where})` : ''}`;
    const replace = Object.entries(u.set).map(([c, v]) => `if(${matched}, ${v}, s.${c}) AS ${c}`);
    const next = `${u.table}__next`;
    await this.run(`DROP TABLE IF EXISTS ${next}`);
    await this.run(`CREATE TABLE ${next} AS ${u.table}`);
    await this.run(`INSERT INTO ${next} SELECT s.* REPLACE (${replace.join(', ')}) FROM ${u.table} AS s LEFT ANY JOIN (${u.source}) AS e ON s.${u.key} = e.${u.key}`);
    await this.run(`EXCHANGE TABLES ${u.table} AND ${next}`);
    await this.run(`DROP TABLE ${next}`);
  }

  async describeParquet(file: string): Promise<ParquetInfo> {
    if (/[*?{}]/.test(file)) throw new Error('the path has * ? { or }, which ClickHouse reads as a file name pattern');
    const cols = await this.rows<{ name: string }>('DESCRIBE file({f:String}, Parquet)', { f: file });
    const [r] = await this.rows<{ n: bigint }>('SELECT count() AS n FROM file({f:String}, Parquet)', { f: file });
    return { rows: Number(r?.n ?? 0n), columns: cols.map((c) => c.name) };
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
    await this.run(`CREATE OR REPLACE TABLE ${table} ${mergeTree()} AS ${selects.join(' UNION ALL ')}`, params);
    const [row] = await this.rows<{ n: bigint }>(`SELECT count() AS n FROM ${table}`);
    return Number(row?.n ?? 0n);
  }

  async createSortedScratchTable(name: string, select: string, orderBy: string): Promise<string> {
    // A MergeTree sorted by the key: streams cannot rely on scan order here (scanOrder false) and sort again,
    // which reads such a table in order.
    await this.run(clickhouseDialect.createTableAs(name, select, `(${orderBy})`));
    return name;
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
    const cols = await this.columnsOf(table);
    const schema: [string, ColumnType][] = cols.map((c) => [c.name, columnTypeOf(c.type)]);
    const vectors: Record<string, ReturnType<Arrow['vectorFromArray']>> = {};
    schema.forEach(([name, type], i) => {
      const values = rows.map((r) => {
        const v = r[i] ?? null;
        if (v === null) return null;
        if (type === 'BIGINT' || type === 'UBIGINT') return typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
        if (type === 'INTEGER' || type === 'DOUBLE') return Number(v);
        return v;
      });
      vectors[name] = this.arrow.vectorFromArray(values, this.arrowType(type));
    });
    await this.insertArrow(table, new this.arrow.Table(vectors), schema);
  }

  close(): void {
    this.session.close();
    if (this.temporary) rmSync(this.path, { recursive: true, force: true });
  }

  private columnsOf(table: string): Promise<{ name: string; type: string }[]> {
    return this.rows('SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position', { t: table });
  }

  private arrowType(type: ColumnType): ArrowDataType {
    const a = this.arrow;
    switch (type) {
      case 'BIGINT':
        return new a.Int64();
      case 'UBIGINT':
        return new a.Uint64();
      case 'INTEGER':
        return new a.Int32();
      case 'DOUBLE':
        return new a.Float64();
      case 'BOOLEAN':
        return new a.Bool();
      case 'VARCHAR':
        return new a.Utf8();
      case 'BLOB':
        return new a.Binary();
    }
  }

  /** Bulk insert: the batch as an Arrow file in the scratch directory, read by ClickHouse's file() (no SQL text). */
  private async insertArrow(table: string, t: ArrowTable, schema: TableSchema): Promise<void> {
    const file = join(this.scratch, `append-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.arrow`);
    writeFileSync(file, this.arrow.tableToIPC(t, 'file'));
    try {
      const cols = schema.map(([n]) => quoteId(n)).join(', ');
      await this.run(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM file({f:String}, Arrow)`, { f: file });
    } finally {
      rmSync(file, { force: true });
    }
  }

  private async run(sql: string, params?: Record<string, unknown>): Promise<Uint8Array> {
    try {
      const r = params ? await this.session.queryBindAsync(sql, params, { format: 'ArrowStream' }) : await this.session.queryAsync(sql, { format: 'ArrowStream' });
      return r.bytes();
    } catch (e) {
      throw clickhouseError(e, sql);
    }
  }

  private async rows<T>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    const bytes = await this.run(sql, params);
    return bytes.length === 0 ? [] : rowsOf<T>(this.arrow.tableFromIPC(bytes), this.binaryColumns);
  }
}

function clickhouseError(e: unknown, sql: string): Error {
  return new Error(`ClickHouse: ${(e as Error).message.split('\n', 1)[0]}\n  in: ${sql.replace(/\s+/g, ' ').slice(0, 400)}`);
}

const decoder = new TextDecoder();

/** Rows as DuckDB's getRowObjectsJS gives them; Strings come back as text unless their column is binary. */
function rowsOf<T>(table: ArrowTable, binaryColumns: ReadonlySet<string>): T[] {
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((n) => table.getChild(n)!);
  const value = (name: string, v: unknown): unknown => {
    if (v instanceof Uint8Array) return binaryColumns.has(name) ? v : decoder.decode(v);
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

/** One streamed Arrow block behind the engine-neutral accessors. */
class ArrowChunk implements ColumnChunk {
  private readonly columns: { get(i: number): unknown }[];
  constructor(private readonly table: ArrowTable) {
    this.columns = table.schema.fields.map((f) => table.getChild(f.name)!);
  }
  get rowCount(): number {
    return this.table.numRows;
  }
  private v(col: number, row: number): unknown {
    return this.columns[col]!.get(row) ?? null;
  }
  bigint(col: number, row: number): bigint | null {
    const v = this.v(col, row);
    return v === null ? null : typeof v === 'bigint' ? v : BigInt(v as number);
  }
  number(col: number, row: number): number | null {
    const v = this.v(col, row);
    return v === null ? null : Number(v);
  }
  string(col: number, row: number): string | null {
    const v = this.v(col, row);
    return v === null ? null : v instanceof Uint8Array ? decoder.decode(v) : String(v);
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

function columnTypeOf(chType: string): ColumnType {
  const t = chType.replace(/^Nullable\((.*)\)$/, '$1');
  if (t === 'Int64') return 'BIGINT';
  if (t === 'UInt64') return 'UBIGINT';
  if (/^U?Int(8|16|32)$/.test(t)) return 'INTEGER';
  if (/^Float(32|64)$/.test(t)) return 'DOUBLE';
  if (t === 'Bool') return 'BOOLEAN';
  return 'VARCHAR';
}

function quoteId(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

function nullable(type: string): string {
  return type.startsWith('Nullable(') || type.startsWith('Array(') || type.startsWith('LowCardinality(') ? type : `Nullable(${type})`;
}
