import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../../analyze/engine/duckdb.js';
import { sqlString, type Engine } from '../../analyze/engine/engine.js';
import { NitraceError, UsageError } from '../../core/errors.js';
import { operationSql } from '../operationName.js';

/** Columns of spans.parquet / edges.parquet (docs/analysis-schema.md) the evaluation reads; others are ignored. */
export const SPAN_COLUMNS = [
  'span_id', 'trace_id', 'parent_span_id', 'kind', 'node', 'pid', 'comm', 'service', 'conn_id', 'remote_addr', 'remote_port',
  'protocol', 'method', 'path', 'status', 'start_ns', 'end_ns', 'request_ids',
] as const;
export const EDGE_COLUMNS = ['trace_id', 'parent_span_id', 'child_span_id'] as const;

/** Time windows each node's data is cut into for the merge evaluation. */
export const WINDOWS = 8;

/**
 * Opens an analysis output for evaluation: loads spans and edges into an in-memory DuckDB and derives `obs`, one row
 * per span with the columns the query sets use: service (process label, else comm), operation (operationName.ts),
 * latency_ns, and part = the node, process and time window the span would have been sketched in on its own.
 */
export async function openEvalData(dir: string): Promise<Engine> {
  const spans = join(dir, 'spans.parquet');
  const edges = join(dir, 'edges.parquet');
  for (const f of [spans, edges]) {
    if (!existsSync(f)) throw new UsageError('sketch-eval', `${f} not found (is ${dir} the output of nitrace analyze?)`);
  }
  const engine = await DuckDbEngine.open();
  try {
    await requireColumns(engine, spans, SPAN_COLUMNS);
    await requireColumns(engine, edges, EDGE_COLUMNS);
    await engine.exec(`CREATE TABLE spans AS SELECT ${SPAN_COLUMNS.join(', ')} FROM read_parquet(${sqlString(spans)})`);
    await engine.exec(`CREATE TABLE edges AS SELECT ${EDGE_COLUMNS.join(', ')} FROM read_parquet(${sqlString(edges)})`);
    const [range] = await engine.query<{ t0: bigint | null; t1: bigint | null; n: bigint }>('SELECT min(start_ns) t0, max(start_ns) t1, count(*) n FROM spans');
    if (!range || range.n === 0n || range.t0 === null || range.t1 === null) throw new UsageError('sketch-eval', `${spans} has no spans to evaluate on`);
    const span = range.t1 - range.t0 + 1n;
    await engine.exec(`CREATE TABLE obs AS SELECT span_id, trace_id, parent_span_id, kind, node, pid,
        coalesce(service, comm, '?') AS service, ${operationSql()} AS operation, protocol,
        conn_id, remote_addr, remote_port, request_ids, status, start_ns, end_ns,
        (end_ns - start_ns)::DOUBLE AS latency_ns,
        node || ' pid=' || pid || ' window=' || ((start_ns - ${range.t0}) * ${WINDOWS} // ${span}) AS part
      FROM spans`);
    return engine;
  } catch (e) {
    engine.close();
    if (e instanceof NitraceError) throw e;
    throw new NitraceError('sketch-eval', `reading ${dir}: ${(e as Error).message.split('\n')[0]}`);
  }
}

async function requireColumns(engine: Engine, file: string, columns: readonly string[]): Promise<void> {
  let have: string[];
  try {
    have = (await engine.query<{ column_name: string }>(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}))`)).map((r) => r.column_name);
  } catch (e) {
    throw new UsageError('sketch-eval', `${file}: not readable as Parquet (${(e as Error).message.split('\n')[0]})`);
  }
  const missing = columns.filter((c) => !have.includes(c));
  if (missing.length > 0) {
    throw new UsageError('sketch-eval', `${file} lacks column(s) ${missing.join(', ')} (docs/analysis-schema.md; written by an older nitrace analyze?)`);
  }
}
