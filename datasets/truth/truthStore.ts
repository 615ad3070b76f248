import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDbEngine } from '../../analyze/engine/duckdb.js';
import { sqlString } from '../../analyze/engine/engine.js';
import { importOsprofilerReport } from './importOsprofiler.js';
import type { TruthEdge, TruthPoint } from './types.js';

/** Which Tempest test produced a trace (DATASET/truth/tests.parquet); absent for traces of other callers. */
export interface TruthTest {
  base_id: string;
  test_id: string;
  /** `success`, `fail`, `skip`, or null when unknown */
  status: string | null;
}

export interface Truth {
  points: TruthPoint[];
  edges: TruthEdge[];
  tests: TruthTest[];
}

const POINT_DDL = `CREATE TABLE points (base_id VARCHAR, trace_id VARCHAR, parent_id VARCHAR, name VARCHAR,
  project VARCHAR, service VARCHAR, host VARCHAR, started_ns BIGINT, finished_ns BIGINT, depth INTEGER,
  method VARCHAR, path VARCHAR, query VARCHAR, statement VARCHAR, "function" VARCHAR, exception VARCHAR)`;
const EDGE_DDL = `CREATE TABLE edges (base_id VARCHAR, parent_id VARCHAR, child_id VARCHAR, parent_name VARCHAR,
  child_name VARCHAR, parent_service VARCHAR, child_service VARCHAR)`;
const TEST_DDL = `CREATE TABLE tests (base_id VARCHAR, test_id VARCHAR, status VARCHAR)`;

/**
 * Reads every `<base_id>.json` (or `.json.gz`) report under `rawDir` (osprofiler trace show --json output).
 * Reports that fail to parse are returned in `errors`, not thrown: one broken export must not lose the rest.
 */
export function importRawDir(rawDir: string): { points: TruthPoint[]; edges: TruthEdge[]; errors: string[] } {
  const points: TruthPoint[] = [];
  const edges: TruthEdge[] = [];
  const errors: string[] = [];
  const files = readdirSync(rawDir).filter((f) => f.endsWith('.json') || f.endsWith('.json.gz')).sort();
  for (const f of files) {
    const baseId = f.replace(/\.json(\.gz)?$/, '');
    try {
      const buf = readFileSync(join(rawDir, f));
      const text = (f.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
      const r = importOsprofilerReport(JSON.parse(text), baseId);
      points.push(...r.points);
      edges.push(...r.edges);
    } catch (e) {
      errors.push(`${f}: ${(e as Error).message}`);
    }
  }
  return { points, edges, errors };
}

/** Writes truth/spans.parquet, truth/edges.parquet and truth/tests.parquet into `dir`. */
export async function writeTruth(dir: string, truth: Truth): Promise<void> {
  const db = await DuckDbEngine.open();
  try {
    await db.exec(POINT_DDL);
    await db.exec(EDGE_DDL);
    await db.exec(TEST_DDL);
    await db.insertRows(
      'points',
      truth.points.map((p) => [p.base_id, p.trace_id, p.parent_id, p.name, p.project, p.service, p.host,
        p.started_ns, p.finished_ns, p.depth, p.method, p.path, p.query, p.statement, p.function, p.exception]),
    );
    await db.insertRows(
      'edges',
      truth.edges.map((e) => [e.base_id, e.parent_id, e.child_id, e.parent_name, e.child_name, e.parent_service,
        e.child_service]),
    );
    await db.insertRows('tests', truth.tests.map((t) => [t.base_id, t.test_id, t.status]));
    await db.writeParquet('SELECT * FROM points ORDER BY base_id, started_ns', join(dir, 'spans.parquet'));
    await db.writeParquet('SELECT * FROM edges ORDER BY base_id', join(dir, 'edges.parquet'));
    await db.writeParquet('SELECT * FROM tests ORDER BY test_id', join(dir, 'tests.parquet'));
  } finally {
    db.close();
  }
}

/** Reads what writeTruth wrote. tests.parquet is optional. */
export async function readTruth(dir: string): Promise<Truth> {
  const db = await DuckDbEngine.open();
  try {
    const points = await db.query<TruthPoint & Record<string, unknown>>(
      `SELECT * FROM read_parquet(${sqlString(join(dir, 'spans.parquet'))})`,
    );
    const edges = await db.query<TruthEdge & Record<string, unknown>>(
      `SELECT * FROM read_parquet(${sqlString(join(dir, 'edges.parquet'))})`,
    );
    let tests: TruthTest[] = [];
    try {
      tests = await db.query<TruthTest & Record<string, unknown>>(
        `SELECT * FROM read_parquet(${sqlString(join(dir, 'tests.parquet'))})`,
      );
    } catch {
      tests = [];
    }
    return { points, edges, tests };
  } finally {
    db.close();
  }
}
