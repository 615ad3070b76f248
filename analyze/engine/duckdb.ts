import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
import duckdbBindings from '@duckdb/node-bindings';
import {
  columnList,
  type ColumnBatch,
  type ColumnChunk,
  type ColumnType,
  type CopiedColumn,
  type CopiedColumnType,
  type TableSchema,
  ValueColumn,
} from './columns.js';
import { StringVectorWriter } from './duckdbStrings.js';
import { sqlString, type Dialect, type Engine, type EngineSettings, type ParquetInfo, type Row, type StreamOptions, type UpdateFrom } from './engine.js';

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  createTableAs: (name, select) => `CREATE OR REPLACE TABLE ${name} AS ${select}`,
  // A temporary table: in memory (spilled to temp_directory beyond memory_limit), visible to this connection only.
  createScratchTableAs: (name, select) => `CREATE OR REPLACE TEMP TABLE ${name} AS ${select}`,
  createTable: (name, schema) => `CREATE OR REPLACE TABLE ${name} (${columnList(schema)})`,
  listAgg: (expr, orderBy) => `list(${expr} ORDER BY ${orderBy})`,
  listElement: (list, i) => `(${list})[${i}]`,
  hash: (...exprs) => `hash(${exprs.join(', ')})`,
  type: (t) => t,
  readParquet: (files) => `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`,
  renameTable: (from, to) => `ALTER TABLE ${from} RENAME TO ${to}`,
  emptyList: (t) => `[]::${t}[]`,
  jsonStringList: (json) => `from_json(${json}, '["VARCHAR"]')`,
  hexId64: (expr) => `CASE WHEN regexp_full_match(${expr}, '[0-9a-f]{16}') THEN CAST('0x' || ${expr} AS UBIGINT) END`,
  product: (expr) => `product(${expr})`,
  intDiv: (a, b) => `(${a} // ${b})`,
  toJson: (expr) => `to_json(${expr})::VARCHAR`,
  unnestRange: (from, to) => `unnest(range(CAST(${from} AS BIGINT), CAST(${to} AS BIGINT) + 1))`,
  string: sqlString,
  allColumnsExcept: (columns) => `* EXCLUDE (${columns.join(', ')})`,
  scanPosition: 'rowid',
};

/**
 * A database attached to the analysis for tables every connection reads (streams open their own connection, which
 * TEMP tables are invisible to), outside the database file: a file in temp_directory (removed on close), else in
 * memory.
 */
const SHARED_SCRATCH = 'nitrace_scratch';

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
  readonly scanOrder = true;
  /**
   * Appenders `append` keeps open between calls, one per table, flushed (committed) before any other statement
   * on the connection: a producer appending many small batches (the parse step: one per work unit) then pays one
   * commit per table instead of one per batch (measured: 60 appends of 4 k rows 3.8 s CPU one commit each, 1.3 s
   * in one transaction).
   */
  private readonly appenders = new Map<string, DuckDBAppender>();
  private readonly strings = new StringVectorWriter(CHUNK_ROWS);
  private readonly booleans = new Uint8Array(CHUNK_ROWS);
  /** The scratch database's file in tempDir, once attached (removed on close). */
  private scratchFile: string | null = null;
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly tempDir: string | undefined,
  ) {}

  static async open(path = ':memory:', settings: EngineSettings = {}): Promise<DuckDbEngine> {
    const options: Record<string, string> = {};
    // MiB: DuckDB reads 'MB' as 10^6 bytes (a limit given as 2048MB was 1.91 GiB).
    if (settings.memoryBytes !== undefined) options.memory_limit = `${Math.max(64, Math.floor(settings.memoryBytes / 1048576))}MiB`;
    if (settings.tempDir !== undefined) options.temp_directory = settings.tempDir;
    if (settings.threads !== undefined) options.threads = String(settings.threads);
    const instance = await DuckDBInstance.create(path, options);
    const conn = await instance.connect();
    // Insertion order is kept only where a query asks for it (ORDER BY): lets sorts and joins spill and run in parallel.
    await conn.run('SET preserve_insertion_order = false');
    return new DuckDbEngine(instance, conn, settings.tempDir);
  }

  async exec(sql: string): Promise<void> {
    this.flushAppenders();
    await this.conn.run(sql);
  }

  async query<T = Row>(sql: string): Promise<T[]> {
    this.flushAppenders();
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowObjectsJS() as T[];
  }

  async stream(sql: string, onChunk: (chunk: ColumnChunk) => void | Promise<void>, opts: StreamOptions = {}): Promise<void> {
    // A connection of its own: another statement on the main connection (the consumer appending its results)
    // would end a streaming result still being read.
    this.flushAppenders();
    const conn = await this.instance.connect();
    // preserve_insertion_order is a database-wide setting (off for everything else, see open()): on while this
    // stream runs, DuckDB keeps the scan order through filters and projections, in parallel.
    if (opts.scanOrder) await conn.run('SET preserve_insertion_order = true');
    try {
      const result = await conn.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        await onChunk(new DuckChunk(chunk));
      }
    } finally {
      if (opts.scanOrder) await conn.run('SET preserve_insertion_order = false');
      conn.closeSync();
    }
  }

  async append(table: string, batch: ColumnBatch): Promise<void> {
    const rows = batch.rows;
    if (rows === 0) return;
    let appender = this.appenders.get(table);
    if (!appender) this.appenders.set(table, (appender = await this.conn.createAppender(table)));
    try {
      const types = batch.schema.map(([, t]) => DUCK_TYPES[t]);
      // Full blocks reuse one chunk (the appender copies what it is given): creating a chunk and its vectors per
      // block cost more than filling them.
      let full: DuckDBDataChunk | null = null;
      for (let off = 0; off < rows; off += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, rows - off);
        const chunk = n === CHUNK_ROWS ? (full ??= DuckDBDataChunk.create(types, n)) : DuckDBDataChunk.create(types, n);
        batch.columns.forEach((col, c) => {
          const type = batch.schema[c]![1];
          const v = chunk.getColumnVector(c) as WritableVector;
          const nulls = col.nullFlags();
          const coded = type === 'VARCHAR' && col instanceof ValueColumn ? col.dictionaryCodes() : null;
          const values = coded ? [] : col.values();
          // NULLs as validity words, written whole (the vectors' setItem marks each row with BigInt arithmetic).
          writeValidity(v, nulls, off, n);
          if (v.items && (type === 'BIGINT' || type === 'UBIGINT' || type === 'DOUBLE')) {
            // Same element type on both sides: one copy of the block.
            v.items.set((values as BigInt64Array).subarray(off, off + n));
            v.flush();
          } else if (v.items && type === 'INTEGER') {
            const items = v.items;
            for (let i = 0; i < n; i++) items[i] = nulls[off + i] ? 0 : values[off + i];
            v.flush();
          } else if (type === 'VARCHAR') {
            // As string records, a few native calls per block (duckdbStrings.ts); from the codes if the rows came so.
            if (coded) this.strings.writeCoded(v.vector, coded.codes, coded.dictionary, nulls, off, n);
            else this.strings.write(v.vector, values as ArrayLike<string | null>, nulls, off, n);
            v.validity.flush(v.vector);
          } else if (type === 'BOOLEAN' && duckdbBindings.sizeof_bool === 1) {
            // One byte per row, copied in one call (setItem writes each row through a DataView).
            const items = this.booleans;
            for (let i = 0; i < n; i++) items[i] = !nulls[off + i] && values[off + i] ? 1 : 0;
            duckdbBindings.copy_data_to_vector(v.vector, 0, items.buffer as ArrayBuffer, 0, n);
            v.validity.flush(v.vector);
          } else if (type === 'BLOB') {
            // Straight into the engine's vector (setItem would cache each value and mark it dirty for flush()).
            const raw = v.vector;
            for (let i = 0; i < n; i++) {
              if (nulls[off + i]) continue;
              duckdbBindings.vector_assign_string_element_len(raw, i, values[off + i] as Uint8Array);
            }
            v.validity.flush(raw);
          } else {
            for (let i = 0; i < n; i++) {
              const x = nulls[off + i] ? null : values[off + i];
              v.setItem(i, x);
            }
            v.flush();
          }
        });
        appender.appendDataChunk(chunk);
      }
    } catch (e) {
      this.appenders.delete(table);
      try {
        appender.closeSync();
      } catch {
        // the append's own error says more
      }
      throw e;
    }
  }

  /** Commits what open appenders hold (see `appenders`). */
  private flushAppenders(): void {
    if (this.appenders.size === 0) return;
    const open = [...this.appenders.values()];
    this.appenders.clear();
    let failure: unknown = null;
    for (const a of open) {
      try {
        a.closeSync();
      } catch (e) {
        failure ??= e;
      }
    }
    if (failure) throw failure;
  }

  async insertByName(table: string, select: string): Promise<void> {
    await this.exec(`INSERT INTO ${table} BY NAME ${select}`);
  }

  async updateFrom(u: UpdateFrom): Promise<void> {
    const set = Object.entries(u.set).map(([c, v]) => `${c} = ${v}`);
    await this.exec(`UPDATE ${u.table} AS s SET ${set.join(', ')} FROM (${u.source}) AS e WHERE s.${u.key} = e.${u.key}${u.where ? ` AND (${u.where})` : ''}`);
  }

  async describeParquet(file: string): Promise<ParquetInfo> {
    const described = await this.query<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    const [r] = await this.query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`);
    return { rows: Number(r?.n ?? 0n), columns: described.map((d) => d.column_name) };
  }

  async describeParquets(files: readonly string[]): Promise<ParquetInfo[] | null> {
    if (files.length === 0) return [];
    // Two queries over every footer at once instead of two per file (DESCRIBE and count(*)): a 10 M-event capture
    // set has ~2000 segments. parquet_schema lists the root element (children, no type) and, for nested columns,
    // their group elements too: a column is an element with no children. Same names and counts as describeParquet
    // for the flat files captures are.
    const list = `[${files.map(sqlString).join(', ')}]`;
    let counts: { file_name: string; n: bigint }[];
    let cols: { file_name: string; names: string[] }[];
    try {
      counts = await this.query(`SELECT file_name, sum(num_rows)::BIGINT AS n FROM parquet_file_metadata(${list}) GROUP BY file_name`);
      cols = await this.query(`SELECT file_name, list(name) AS names FROM parquet_schema(${list}) WHERE coalesce(num_children, 0) = 0 GROUP BY file_name`);
    } catch {
      return null;
    }
    const rows = new Map(counts.map((c) => [c.file_name, Number(c.n)]));
    const names = new Map(cols.map((c) => [c.file_name, c.names]));
    const out: ParquetInfo[] = [];
    for (const f of files) {
      const n = rows.get(f);
      const c = names.get(f);
      if (n === undefined || c === undefined) return null;
      out.push({ rows: n, columns: c });
    }
    return out;
  }

  async loadParquet(table: string, files: readonly string[]): Promise<number> {
    const list = `[${files.map(sqlString).join(', ')}]`;
    await this.exec(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM read_parquet(${list}, union_by_name = true)`);
    const [row] = await this.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(row?.n ?? 0n);
  }

  async writeParquet(sql: string, file: string, opts: StreamOptions = {}): Promise<void> {
    const source = /^\s*select\b|^\s*with\b/i.test(sql) ? `(${sql})` : sql;
    await this.inInsertionOrder(opts.scanOrder ?? false, () => this.exec(`COPY ${source} TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`));
  }

  async createSortedScratchTable(name: string, select: string, orderBy: string): Promise<string> {
    // A database file in tempDir where there is one: its blocks are compressed and written once, so the engine
    // drops them from memory and reads them back compressed (10 M bench set, export only: stream 52 s at 0.87 GB
    // peak; in memory, the table spilled uncompressed past memory_limit and was read back from the spill: 121-134 s
    // at 1.69-1.84 GB).
    if (this.tempDir !== undefined) {
      mkdirSync(this.tempDir, { recursive: true });
      this.scratchFile ??= join(this.tempDir, `nitrace-scratch-${process.pid}.duckdb`);
      await this.exec(`ATTACH IF NOT EXISTS ${sqlString(this.scratchFile)} AS ${SHARED_SCRATCH}`);
    } else await this.exec(`ATTACH IF NOT EXISTS ':memory:' AS ${SHARED_SCRATCH}`);
    const table = `${SHARED_SCRATCH}.${name}`;
    // Stored in the sort's order only when insertion order is kept (see open()).
    await this.inInsertionOrder(true, () => this.exec(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM (${select}) ORDER BY ${orderBy}`));
    return table;
  }

  /** Runs `f` with preserve_insertion_order on (a database-wide setting, off otherwise: see open()). */
  private async inInsertionOrder<T>(on: boolean, f: () => Promise<T>): Promise<T> {
    if (!on) return f();
    await this.conn.run('SET preserve_insertion_order = true');
    try {
      return await f();
    } finally {
      await this.conn.run('SET preserve_insertion_order = false');
    }
  }

  async insertRows(table: string, rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    this.flushAppenders();
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
    this.flushAppenders();
    this.conn.closeSync();
    this.instance.closeSync();
    if (this.scratchFile !== null) for (const f of [this.scratchFile, `${this.scratchFile}.wal`]) rmSync(f, { force: true });
  }
}

/** What `append` uses of a @duckdb/node-api vector it writes (fields of its vector classes). */
type WritableVector = DuckDBVector & {
  setItem(i: number, v: unknown): void;
  flush(): void;
  items?: { [i: number]: unknown; set(a: ArrayLike<unknown>): void };
  /** The engine's vector (duckdb_vector). */
  vector: Parameters<typeof duckdbBindings.vector_assign_string_element>[0];
  validity: { data: BigUint64Array | null; setItemValid(i: number, valid: boolean): void; flush(vector: unknown): void };
};

/**
 * Sets rows [0, n) of a vector's validity from NULL flags [off, off + n), 32 rows per write. A vector whose block
 * has no NULL and that never had one keeps no mask (all valid).
 */
function writeValidity(v: WritableVector, nulls: Uint8Array, off: number, n: number): void {
  const validity = v.validity;
  if (!validity.data) {
    const first = nulls.subarray(off, off + n).indexOf(1);
    if (first < 0) return;
    validity.setItemValid(first, false); // makes the mask (all valid)
  }
  const data = validity.data!;
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  for (let w = 0, i = 0; i < n; w++) {
    let word = 0;
    const end = Math.min(n, i + 32);
    for (let b = 0; i < end; i++, b++) if (!nulls[off + i]) word |= 1 << b;
    words[w] = end - (w << 5) === 32 ? word >>> 0 : word | (~0 << (end - (w << 5)));
  }
}

/** A DuckDB data chunk behind the engine-neutral ColumnChunk accessors. */
class DuckChunk implements ColumnChunk {
  private readonly vectors: DuckDBVector[] = [];
  /** Read once: the chunk's getter is a native call, and readers test it on every row of their loop. */
  readonly rowCount: number;
  constructor(private readonly chunk: DuckDBDataChunk) {
    this.rowCount = chunk.rowCount;
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
  copyColumn(col: number, type: CopiedColumnType): CopiedColumn {
    const n = this.rowCount;
    const vector = this.vector(col) as DuckDBVector & {
      items?: BigInt64Array | BigUint64Array | Int32Array;
      validity: { data: BigUint64Array | null };
      getItemBytes?(i: number): Uint8Array | null;
    };
    // Validity bits (1 = valid, 64 rows per word) as one flag per row.
    const words = vector.validity.data;
    let nulls: Uint8Array | null = null;
    if (words) {
      // Bytes of the little-endian words: bit i of the mask is bit (i & 7) of byte (i >> 3).
      const bits = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
      for (let i = 0; i < n; i++) {
        if (((bits[i >>> 3]! >> (i & 7)) & 1) === 0) (nulls ??= new Uint8Array(n))[i] = 1;
      }
    }
    if (type === 'BLOB') return copyBlobs(vector as unknown as { dataView: DataView }, n, nulls);
    const items = vector.items!;
    const want = type === 'INTEGER' ? Int32Array : type === 'BIGINT' ? BigInt64Array : BigUint64Array;
    if (!(items instanceof want)) throw new Error(`duckdb: column ${col} is not ${type}`);
    return { values: items.slice(0, n), bytes: null, offsets: null, nulls };
  }
}

/**
 * A BLOB vector's rows as one byte array with offsets. Each row is a 16-byte duckdb_string_t in the vector's data:
 * its length (4 bytes), then either the bytes themselves (12 or fewer) or a 4-byte prefix and a pointer into the
 * engine's string heap. Reading a heap row costs a native call (`get_data_from_pointer`, which `getItemBytes`
 * makes per row); so one call copies a whole run of rows whose bytes follow each other in memory, and inline rows
 * are read from the data directly. The rows of a sorted result adjoin in its heap; those of a Parquet scan sit in
 * the file's decoded page, each after its 4-byte length: a run may skip up to RUN_GAP bytes between two rows (a
 * page boundary is never crossed by a read that starts and ends in valid rows and skips at most a few bytes, so
 * every byte read is mapped; the skipped bytes are dropped). Measured on the identity-image sample (611 k payloads,
 * 118 MB, sorted): ~6 native calls per 2048-row chunk instead of ~1 200.
 */
function copyBlobs(vector: { dataView: DataView }, n: number, nulls: Uint8Array | null): CopiedColumn {
  const dv = vector.dataView;
  const offsets = new Uint32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!nulls?.[i]) total += dv.getUint32(i * 16, true);
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  const base = dv.byteOffset;
  const pointer = (i: number): number => dv.getUint32(i * 16 + 8, true) + dv.getUint32(i * 16 + 12, true) * 2 ** 32;
  // The heap run being gathered: rows runRows[0..runCount), row k at runAt[k] bytes after the first row's pointer.
  const runRows = new Uint32Array(n);
  const runAt = new Float64Array(n);
  let runCount = 0;
  let runStart = 0;
  let runEnd = -1;
  const flush = (): void => {
    if (runCount === 0) return;
    const heap = duckdbBindings.get_data_from_pointer(dv.buffer as ArrayBuffer, base + runRows[0]! * 16 + 8, runEnd - runStart);
    // Rows that follow each other both in the heap and in `bytes` are copied as one piece.
    let from = 0;
    let to = offsets[runRows[0]!]!;
    let len = 0;
    for (let k = 0; k < runCount; k++) {
      const r = runRows[k]!;
      const h = runAt[k]!;
      const n = offsets[r + 1]! - offsets[r]!;
      if (h !== from + len || offsets[r] !== to + len) {
        bytes.set(heap.subarray(from, from + len), to);
        from = h;
        to = offsets[r]!;
        len = 0;
      }
      len += n;
    }
    bytes.set(heap.subarray(from, from + len), to);
    runCount = 0;
  };
  for (let i = 0; i < n; i++) {
    const len = offsets[i + 1]! - offsets[i]!;
    if (len === 0) continue;
    if (len <= 12) {
      bytes.set(new Uint8Array(dv.buffer, base + i * 16 + 4, len), offsets[i]!);
      continue;
    }
    const at = pointer(i);
    if (runCount > 0 && (at < runEnd || at - runEnd > RUN_GAP)) flush();
    if (runCount === 0) runStart = at;
    runRows[runCount] = i;
    runAt[runCount++] = at - runStart;
    runEnd = at + len;
  }
  flush();
  return { values: null, bytes, offsets, nulls };
}

/** Bytes a heap run may skip between two rows (a Parquet page's 4-byte length prefixes, some alignment). */
const RUN_GAP = 64;

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
