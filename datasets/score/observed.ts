import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../../analyze/engine/duckdb.js';
import { sqlString } from '../../analyze/engine/engine.js';

/**
 * The columns of OUT/spans.parquet (docs/analysis-schema.md) the scorer uses. Times are µs since the epoch as
 * doubles: exact to well under 1 µs for current dates, and plain numbers are simpler to compare than bigint.
 */
export interface ObservedSpan {
  span_id: string;
  /** The reconstruction's parent (spans.parquet parent_span_id, or edges.parquet); null for a root. */
  parent_span_id: string | null;
  kind: 'client' | 'server' | string;
  pid: number | null;
  tid: number | null;
  service: string | null;
  comm: string | null;
  protocol: string | null;
  method: string | null;
  path: string | null;
  local_port: number | null;
  remote_port: number | null;
  start_us: number;
  end_us: number;
}

/** An observed parent -> child link (edges.parquet). */
export interface ObservedEdge {
  parent_span_id: string;
  child_span_id: string;
  edge_kind: string | null;
  evidence: string | null;
}

export interface Observed {
  spans: ObservedSpan[];
  edges: ObservedEdge[];
}

/** Reads OUT/spans.parquet and, when present, OUT/edges.parquet. Throws with the missing file named. */
export async function readObserved(out: string): Promise<Observed> {
  const spansFile = join(out, 'spans.parquet');
  if (!existsSync(spansFile)) throw new Error(`${spansFile} not found (run nitrace analyze first)`);
  const db = await DuckDbEngine.open();
  try {
    const spans = await db.query<ObservedSpan & Record<string, unknown>>(`
      SELECT span_id, parent_span_id, kind, pid::INTEGER AS pid, tid::INTEGER AS tid, service, comm, protocol, method,
             path, local_port::INTEGER AS local_port, remote_port::INTEGER AS remote_port,
             start_ns / 1000.0 AS start_us, coalesce(end_ns, start_ns) / 1000.0 AS end_us
      FROM read_parquet(${sqlString(spansFile)})`);
    const edgesFile = join(out, 'edges.parquet');
    const edges = existsSync(edgesFile)
      ? await db.query<ObservedEdge & Record<string, unknown>>(
          `SELECT parent_span_id, child_span_id, edge_kind, evidence FROM read_parquet(${sqlString(edgesFile)})
           WHERE parent_span_id IS NOT NULL AND child_span_id IS NOT NULL`,
        )
      : [];
    return { spans, edges };
  } finally {
    db.close();
  }
}

/**
 * The reconstruction's parent of every span: edges.parquet wins (it is the reconstruction's own statement),
 * spans.parquet parent_span_id fills in spans that have no edge.
 */
export function parentMapOf(observed: Observed): Map<string, string> {
  const parent = new Map<string, string>();
  for (const s of observed.spans) if (s.parent_span_id) parent.set(s.span_id, s.parent_span_id);
  for (const e of observed.edges) parent.set(e.child_span_id, e.parent_span_id);
  return parent;
}
