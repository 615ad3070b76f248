import { resolve } from 'node:path';
import { NitraceError } from '../../core/errors.js';
import type { Diagnostics } from '../diagnostics.js';
import type { ColumnType, TableSchema } from '../engine/columns.js';
import type { Engine, ParquetInfo } from '../engine/engine.js';
import { readCaptureManifest, type CaptureManifest } from './captureManifest.js';

/** Event columns of capture schema 1, with the types of docs/capture-schema.md. */
export const V1_EVENT_COLUMNS: TableSchema = [
  ['ts_ns', 'BIGINT'],
  ['mono_ns', 'BIGINT'],
  ['node', 'VARCHAR'],
  ['pid', 'INTEGER'],
  ['tid', 'INTEGER'],
  ['comm', 'VARCHAR'],
  ['fd', 'INTEGER'],
  ['event', 'VARCHAR'],
  ['syscall', 'VARCHAR'],
  ['direction', 'VARCHAR'],
  ['conn_id', 'UBIGINT'],
  ['family', 'VARCHAR'],
  ['local_addr', 'VARCHAR'],
  ['local_port', 'INTEGER'],
  ['remote_addr', 'VARCHAR'],
  ['remote_port', 'INTEGER'],
  ['netns', 'UBIGINT'],
  ['tcp_seq', 'UBIGINT'],
  ['bytes', 'BIGINT'],
  ['payload', 'BLOB'],
  ['payload_truncated', 'BOOLEAN'],
];

/** Columns schema v2 added (green threads); NULL for captures that lack them. */
export const EVENT_COLUMNS_V2: TableSchema = [
  ['gid', 'UBIGINT'],
  ['parent_gid', 'UBIGINT'],
];

const PROCESS_COLUMNS: TableSchema = [
  ['node', 'VARCHAR'],
  ['pid', 'INTEGER'],
  ['ppid', 'INTEGER'],
  ['comm', 'VARCHAR'],
  ['exe', 'VARCHAR'],
  ['cmdline', 'VARCHAR'],
  ['start_time_ns', 'BIGINT'],
  ['first_seen_ns', 'BIGINT'],
];

/**
 * Makes capture directories (one per node) queryable: `events` is a view over every readable segment of every
 * capture (v1 and v2 columns, plus a `capture` index), read straight from the Parquet files, so payloads are
 * read once, by the parse step, in the order it needs; `processes` is a table. A segment that does not read or
 * lacks columns is skipped with a warning; a capture without any readable event is a warning, all of them empty
 * is an error.
 */
export async function loadCaptures(engine: Engine, dirs: readonly string[], diag: Diagnostics): Promise<CaptureManifest[]> {
  // Absolute paths: the `events` view keeps them, and users reopen analysis.duckdb from anywhere.
  const manifests = dirs.map((d) => readCaptureManifest(resolve(d), diag));
  const seen = new Map<string, string>();
  for (const m of manifests) {
    const other = seen.get(m.node);
    if (other !== undefined) {
      throw new NitraceError('analyze', `${other} and ${m.dir} are both node "${m.node}": capture each node with its own --node NAME`, 2);
    }
    seen.set(m.node, m.dir);
  }
  const d = engine.dialect;
  await engine.exec(d.createTable('processes', PROCESS_COLUMNS));
  const selects: string[] = [];
  // Every segment's footer in one pass where the engine can (null: some file needs a look of its own).
  const allSegments = manifests.flatMap((m) => m.segmentFiles);
  const batch = (await engine.describeParquets?.(allSegments)) ?? null;
  const described = new Map(batch === null ? [] : allSegments.map((f, i) => [f, batch[i]!]));
  for (const [ci, m] of manifests.entries()) {
    const good: string[] = [];
    let rows = 0;
    let hasV2 = true;
    for (const file of m.segmentFiles) {
      const known = described.get(file);
      const checked = known ? checkColumns(known, V1_EVENT_COLUMNS) : await checkParquet(engine, file, V1_EVENT_COLUMNS);
      if (typeof checked === 'string') {
        diag.warn('segment-unreadable', `${file}: ${checked}; segment skipped`);
        continue;
      }
      good.push(file);
      rows += checked.rows;
      hasV2 &&= EVENT_COLUMNS_V2.every(([c]) => checked.columns.has(c));
    }
    if (rows === 0) diag.warn('capture-empty', `${m.dir}: no events (${m.segmentFiles.length} segment files)`);
    diag.add('events', rows);
    if (good.length > 0) {
      const type = (t: ColumnType) => d.type(t);
      const cols = V1_EVENT_COLUMNS.map(([c, t]) => (c === 'node' ? `CAST(coalesce(node, ${d.string(m.node)}) AS VARCHAR) AS node` : `CAST(${c} AS ${type(t)}) AS ${c}`));
      for (const [c, t] of EVENT_COLUMNS_V2) cols.push(hasV2 ? `CAST(${c} AS ${type(t)}) AS ${c}` : `CAST(NULL AS ${type(t)}) AS ${c}`);
      const read = [...V1_EVENT_COLUMNS, ...(hasV2 ? EVENT_COLUMNS_V2 : [])].map(([c]) => c);
      selects.push(`SELECT ${cols.join(', ')}, CAST(${ci} AS INTEGER) AS capture FROM ${d.readParquet(good, read)}`);
    }
    if (m.processesFile) {
      const checked = await checkParquet(engine, m.processesFile, PROCESS_COLUMNS);
      if (typeof checked === 'string') diag.warn('processes-unreadable', `${m.processesFile}: ${checked}; process names fall back to comm`);
      else {
        const cols = PROCESS_COLUMNS.map(([c, t]) => (c === 'node' ? `coalesce(node, ${d.string(m.node)})` : `CAST(${c} AS ${d.type(t)})`));
        const read = PROCESS_COLUMNS.map(([c]) => c);
        await engine.exec(`INSERT INTO processes SELECT ${cols.join(', ')} FROM ${d.readParquet([m.processesFile], read)}`);
      }
    }
  }
  if ((diag.counts.events ?? 0) === 0) {
    throw new NitraceError('analyze', `no events in ${dirs.join(', ')}: nothing to analyze (was the traced program doing network I/O?)`, 2);
  }
  await engine.exec(`CREATE OR REPLACE VIEW events AS ${selects.join(' UNION ALL ')}`);
  const nodes = await engine.query<{ node: string; capture: number }>('SELECT DISTINCT node, capture FROM events');
  for (const { node, capture } of nodes) {
    const m = manifests[capture]!;
    if (node !== m.node) diag.warn('node-mismatch', `${m.dir}: events name node "${node}" but the manifest says "${m.node}"`);
  }
  return manifests;
}

/** Why a Parquet file cannot be used (unreadable, or missing columns), or its row count and column names. */
async function checkParquet(engine: Engine, file: string, columns: TableSchema): Promise<string | { rows: number; columns: Set<string> }> {
  let info: ParquetInfo;
  try {
    info = await engine.describeParquet(file);
  } catch (e) {
    return `not a readable Parquet file (${firstLine((e as Error).message)})`;
  }
  return checkColumns(info, columns);
}

/** Missing columns, or the file's row count and column names. */
function checkColumns(info: ParquetInfo, columns: TableSchema): string | { rows: number; columns: Set<string> } {
  const rows = info.rows;
  const have = new Set(info.columns);
  const missing = columns.filter(([c]) => !have.has(c)).map(([c]) => c);
  if (missing.length) return `missing columns ${missing.join(', ')}`;
  return { rows, columns: have };
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!.slice(0, 200);
}
