/**
 * What an analysis of a generated capture set found per replica: spans, edges and edges by evidence, attributed
 * through the pids and times the generator assigned (Tempest pids name their run; a daemon's pid names its lane,
 * its start time the run; a span without pid, e.g. a broker's, by its thread id, which moved with the pid). An edge whose two spans belong to different replicas is a link the generator should
 * have made impossible (same ids, ports or sequence numbers in two replicas): `cross_replica_edges` counts them.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { CaptureSet } from './captureSet.js';
import { LANE_PID_STRIDE, RUN_PID_BASE, RUN_PID_STRIDE } from './placement.js';

export interface AnalysisCounts {
  spans: number;
  edges: number;
  edges_by_evidence: Record<string, number>;
}

export interface ReplicaStats extends AnalysisCounts {
  r: number;
  sample: string;
  partial: boolean;
}

export interface SetStats {
  replicas: ReplicaStats[];
  /** Spans no replica's pid and time window claims (should be 0). */
  unattributed_spans: number;
  cross_replica_edges: number;
  cross_replica_edges_by_evidence: Record<string, number>;
}

const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** Counts of one analysis output directory (spans.parquet, edges.parquet), e.g. of an original sample. */
export async function analysisCounts(out: string): Promise<AnalysisCounts> {
  const inst = await DuckDBInstance.create(':memory:');
  const db = await inst.connect();
  try {
    const [s] = (await db.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${lit(join(out, 'spans.parquet'))})`)).getRowObjectsJS() as { n: bigint }[];
    const ev = (await db.runAndReadAll(`SELECT evidence, count(*) AS n FROM read_parquet(${lit(join(out, 'edges.parquet'))}) GROUP BY 1 ORDER BY 1`)).getRowObjectsJS() as { evidence: string; n: bigint }[];
    return { spans: Number(s!.n), edges: ev.reduce((a, e) => a + Number(e.n), 0), edges_by_evidence: Object.fromEntries(ev.map((e) => [e.evidence, Number(e.n)])) };
  } finally {
    db.closeSync();
    inst.closeSync();
  }
}

export async function replicaStats(out: string, set: CaptureSet): Promise<SetStats> {
  const inst = await DuckDBInstance.create(':memory:');
  const db = await inst.connect();
  const q = async <T>(sql: string): Promise<T[]> => (await db.runAndReadAll(sql)).getRowObjectsJS() as T[];
  try {
    await db.run('CREATE TABLE reps (r INTEGER, lane INTEGER, t_start BIGINT)');
    await db.run(`INSERT INTO reps VALUES ${set.replicas.map((x) => `(${x.r}, ${x.lane}, ${BigInt(x.t_start_ns) - 1_000_000_000n})`).join(', ')}`);
    // raw_start_ns: the node's own clock, which the generator shifted; server spans completed from their client
    // side may start a little before their run's first event, hence the 1 s of slack above.
    await db.run(`CREATE TABLE sr AS
      SELECT s.span_id, CASE WHEN s.p >= ${RUN_PID_BASE} THEN (s.p - ${RUN_PID_BASE}) // ${RUN_PID_STRIDE} ELSE x.r END AS r
      FROM (SELECT *, coalesce(pid, tid) AS p, CASE WHEN p >= ${RUN_PID_BASE} THEN NULL ELSE p // ${LANE_PID_STRIDE} END AS lane
            FROM read_parquet(${lit(join(out, 'spans.parquet'))})) s
      ASOF LEFT JOIN reps x ON x.lane = s.lane AND s.raw_start_ns >= x.t_start`);
    const spans = await q<{ r: number | null; n: bigint }>('SELECT r, count(*) AS n FROM sr GROUP BY r');
    const edges = await q<{ r: number | null; evidence: string; n: bigint; cross: bigint }>(`
      SELECT c.r, e.evidence, count(*) AS n, count(*) FILTER (WHERE p.r IS DISTINCT FROM c.r) AS cross
      FROM read_parquet(${lit(join(out, 'edges.parquet'))}) e JOIN sr c ON c.span_id = e.child_span_id
      LEFT JOIN sr p ON p.span_id = e.parent_span_id GROUP BY ALL`);
    const replicas: ReplicaStats[] = set.replicas.map((x) => {
      const mine = edges.filter((e) => e.r === x.r);
      return {
        r: x.r,
        sample: x.sample,
        partial: x.partial,
        spans: Number(spans.find((s) => s.r === x.r)?.n ?? 0n),
        edges: mine.reduce((a, e) => a + Number(e.n), 0),
        edges_by_evidence: Object.fromEntries(mine.sort((a, b) => (a.evidence < b.evidence ? -1 : 1)).map((e) => [e.evidence, Number(e.n)])),
      };
    });
    return {
      replicas,
      unattributed_spans: Number(spans.find((s) => s.r === null)?.n ?? 0n),
      cross_replica_edges: edges.reduce((a, e) => a + Number(e.cross), 0),
      cross_replica_edges_by_evidence: edges.reduce<Record<string, number>>((a, e) => {
        if (Number(e.cross) > 0) a[e.evidence] = (a[e.evidence] ?? 0) + Number(e.cross);
        return a;
      }, {}),
    };
  } finally {
    db.closeSync();
    inst.closeSync();
  }
}
