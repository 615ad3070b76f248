import { NitraceError } from '../../core/errors.js';
import { sqlString, type Engine } from '../engine/engine.js';
import type { Diagnostics } from '../diagnostics.js';
import { readCaptureManifest, type CaptureManifest } from './captureManifest.js';

/** Event columns of capture schema 1, with the types of docs/capture-schema.md. */
export const V1_EVENT_COLUMNS: readonly [string, string][] = [
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

/** Columns added by capture schema 2 (green threads); NULL when a segment has none (schema 1). */
const V2_EVENT_COLUMNS: readonly [string, string][] = [
  ['gid', 'UBIGINT'],
  ['parent_gid', 'UBIGINT'],
];

/** Event columns the analysis reads: the `events` table has all of them, whatever the capture's schema. */
export const EVENT_COLUMNS: readonly [string, string][] = [...V1_EVENT_COLUMNS, ...V2_EVENT_COLUMNS];

const PROCESS_COLUMNS: readonly [string, string][] = [
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
 * Loads capture directories (one per node) into the tables `events` (plus a `capture` index column) and
 * `processes`. A segment that does not read or lacks columns is skipped with a warning; a capture without any
 * readable event is a warning, all of them empty is an error.
 */
export async function loadCaptures(engine: Engine, dirs: readonly string[], diag: Diagnostics): Promise<CaptureManifest[]> {
  const manifests = dirs.map((d) => readCaptureManifest(d, diag));
  const seen = new Map<string, string>();
  for (const m of manifests) {
    const other = seen.get(m.node);
    if (other !== undefined) {
      throw new NitraceError('analyze', `${other} and ${m.dir} are both node "${m.node}": capture each node with its own --node NAME`, 2);
    }
    seen.set(m.node, m.dir);
  }
  await engine.exec(`CREATE OR REPLACE TABLE events (${EVENT_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')}, capture INTEGER)`);
  await engine.exec(`CREATE OR REPLACE TABLE processes (${PROCESS_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`);
  for (const [ci, m] of manifests.entries()) {
    let rows = 0;
    for (const file of m.segmentFiles) {
      const { problem, have } = await checkParquet(engine, file, V1_EVENT_COLUMNS);
      if (problem) {
        diag.warn('segment-unreadable', `${file}: ${problem}; segment skipped`);
        continue;
      }
      const cols = EVENT_COLUMNS.map(([c, t]) =>
        c === 'node' ? `coalesce(node, ${sqlString(m.node)})` : have.has(c) ? `CAST(${c} AS ${t})` : `NULL::${t}`,
      );
      try {
        const [r] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`);
        await engine.exec(`INSERT INTO events SELECT ${cols.join(', ')}, ${ci} FROM read_parquet(${sqlString(file)})`);
        rows += Number(r?.n ?? 0n);
      } catch (e) {
        diag.warn('segment-unreadable', `${file}: ${firstLine((e as Error).message)}; segment skipped`);
      }
    }
    if (rows === 0) diag.warn('capture-empty', `${m.dir}: no events (${m.segmentFiles.length} segment files)`);
    diag.add('events', rows);
    if (m.processesFile) {
      const { problem } = await checkParquet(engine, m.processesFile, PROCESS_COLUMNS);
      if (problem) diag.warn('processes-unreadable', `${m.processesFile}: ${problem}; process names fall back to comm`);
      else {
        const cols = PROCESS_COLUMNS.map(([c, t]) => (c === 'node' ? `coalesce(node, ${sqlString(m.node)})` : `CAST(${c} AS ${t})`));
        await engine.exec(`INSERT INTO processes SELECT ${cols.join(', ')} FROM read_parquet(${sqlString(m.processesFile)})`);
      }
    }
  }
  if ((diag.counts.events ?? 0) === 0) {
    throw new NitraceError('analyze', `no events in ${dirs.join(', ')}: nothing to analyze (was the traced program doing network I/O?)`, 2);
  }
  const nodes = await engine.query<{ node: string; capture: number }>('SELECT DISTINCT node, capture FROM events');
  for (const { node, capture } of nodes) {
    const m = manifests[capture]!;
    if (node !== m.node) diag.warn('node-mismatch', `${m.dir}: events name node "${node}" but the manifest says "${m.node}"`);
  }
  return manifests;
}

/**
 * Why a Parquet file cannot be used (unreadable, or missing one of the `required` columns), or null if fine; and
 * the columns it has.
 */
async function checkParquet(engine: Engine, file: string, required: readonly [string, string][]): Promise<{ problem: string | null; have: Set<string> }> {
  let described: { column_name: string; column_type: string }[];
  try {
    described = await engine.query(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    await engine.query(`SELECT count(*) FROM read_parquet(${sqlString(file)})`);
  } catch (e) {
    return { problem: `not a readable Parquet file (${firstLine((e as Error).message)})`, have: new Set() };
  }
  const have = new Set(described.map((d) => d.column_name));
  const missing = required.filter(([c]) => !have.has(c)).map(([c]) => c);
  return { problem: missing.length ? `missing columns ${missing.join(', ')}` : null, have };
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!.slice(0, 200);
}
