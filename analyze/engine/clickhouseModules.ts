/**
 * The parts of the optional packages `chdb` and `apache-arrow` the ClickHouse engine uses, typed here and loaded
 * with a dynamic import: nitrace compiles and runs (on DuckDB) after `npm ci --omit=optional`, which leaves both
 * out (~550 MB), and only `--engine clickhouse` then says what to install.
 */
import { NitraceError } from '../../core/errors.js';

export interface ChdbResult {
  bytes(): Uint8Array;
}

export interface ChdbSession {
  queryAsync(sql: string, opts?: { format?: string }): Promise<ChdbResult>;
  queryBindAsync(sql: string, params: object, opts?: { format?: string }): Promise<ChdbResult>;
  queryStream(sql: string, opts?: { format?: string }): AsyncIterable<{ raw(): Uint8Array }>;
  insert(params: { table: string; values: readonly (readonly unknown[])[] }): Promise<unknown>;
  close(): void;
  cleanup(): void;
}

export interface Chdb {
  Session: new (path?: string) => ChdbSession;
}

export interface ArrowVector {
  get(i: number): unknown;
}

export interface ArrowTable {
  readonly numRows: number;
  readonly schema: { fields: { name: string }[] };
  getChild(name: string): ArrowVector | null;
}

/** An Arrow data type instance (Int64, Utf8, ...), only passed back to the library. */
export type ArrowDataType = object;

export interface Arrow {
  tableFromIPC(bytes: Uint8Array): ArrowTable;
  tableToIPC(table: ArrowTable, type: 'file' | 'stream'): Uint8Array;
  vectorFromArray(values: readonly unknown[], type: ArrowDataType): ArrowVector;
  Table: new (columns: Record<string, ArrowVector>) => ArrowTable;
  Int64: new () => ArrowDataType;
  Uint64: new () => ArrowDataType;
  Int32: new () => ArrowDataType;
  Float64: new () => ArrowDataType;
  Bool: new () => ArrowDataType;
  Utf8: new () => ArrowDataType;
  Binary: new () => ArrowDataType;
}

/** Loads both packages, or says how to install them (exit 3: a missing dependency). */
export async function loadClickHouseModules(): Promise<{ chdb: Chdb; arrow: Arrow }> {
  // Specifiers in variables: TypeScript does not resolve them, so the build does not need the packages.
  const names = { chdb: 'chdb', arrow: 'apache-arrow' };
  try {
    return { chdb: (await import(names.chdb)) as Chdb, arrow: (await import(names.arrow)) as Arrow };
  } catch (e) {
    throw new NitraceError(
      'analyze',
      `the clickhouse engine needs the optional packages chdb (embedded ClickHouse, ~550 MB) and apache-arrow, which are not installed (${(e as Error).message.split('\n', 1)[0]}): run \`npm install chdb@3.4.0 apache-arrow@21.2.0\` in the nitrace directory (\`npm ci\` installs them unless --omit=optional)`,
      3,
    );
  }
}
