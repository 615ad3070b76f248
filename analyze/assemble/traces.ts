import type { Engine } from '../engine/engine.js';
import type { Diagnostics } from '../diagnostics.js';
import { traceId } from '../messages/spanId.js';

/** The protocol of a child call, as the edge's kind (docs/analysis-schema.md). */
export const EDGE_KIND_SQL = `CASE protocol WHEN 'http' THEN 'http' WHEN 'mysql' THEN 'db' WHEN 'redis' THEN 'cache'
  WHEN 'memcached' THEN 'cache' WHEN 'amqp' THEN 'rpc' WHEN 'kafka' THEN 'rpc' ELSE protocol END`;

interface Choice {
  child: string;
  parent: string;
  evidence: string;
  all_evidence: string[];
  confidence: number;
  alternatives: bigint;
}

/**
 * Trace assembly: for every span, the parent whose evidence is strongest (confidences of agreeing evidence kinds
 * combine as 1 - prod(1 - c)); links are taken strongest first and one that would close a cycle is dropped and
 * counted. Connected components become traces, each with one root (a span with no parent). Writes
 * `edges_t` (chosen links) and `span_links` (span -> parent, trace).
 */
export async function assembleTraces(engine: Engine, diag: Diagnostics): Promise<{ traces: number; edges: number }> {
  const choices = await engine.query<Choice>(`
    WITH dedup AS (SELECT parent, child, evidence, max(confidence) AS confidence FROM candidates GROUP BY ALL),
    pc AS (
      SELECT child, parent, list(evidence ORDER BY confidence DESC, evidence)[1] AS evidence,
             list(evidence ORDER BY confidence DESC, evidence) AS all_evidence,
             1 - product(1 - confidence) AS confidence
      FROM dedup GROUP BY child, parent),
    ranked AS (
      SELECT *, row_number() OVER (PARTITION BY child ORDER BY confidence DESC, parent) AS rk,
             count(*) OVER (PARTITION BY child) - 1 AS alternatives
      FROM pc)
    SELECT child, parent, evidence, all_evidence, confidence, alternatives FROM ranked WHERE rk = 1
    ORDER BY confidence DESC, child`);
  const spans = await engine.query<{ span_id: string; start_ns: bigint }>('SELECT span_id, start_ns FROM spans_t ORDER BY start_ns, span_id');
  const parent = new Map<string, string>();
  const kept: Choice[] = [];
  for (const c of choices) {
    // Walk up from the proposed parent: reaching the child means this link would close a cycle.
    let p: string | undefined = c.parent;
    let cycle = false;
    for (let guard = 0; p !== undefined && guard < 100_000; guard++) {
      if (p === c.child) {
        cycle = true;
        break;
      }
      p = parent.get(p);
    }
    if (cycle) {
      diag.warn('edge-cycle', 'parent links dropped because they would make a cycle');
      continue;
    }
    parent.set(c.child, c.parent);
    kept.push(c);
  }
  const root = new Map<string, string>();
  const rootOf = (id: string): string => {
    const path: string[] = [];
    let cur = id;
    while (!root.has(cur) && parent.has(cur)) {
      path.push(cur);
      cur = parent.get(cur)!;
    }
    const r = root.get(cur) ?? cur;
    root.set(cur, r);
    for (const p of path) root.set(p, r);
    return r;
  };
  const links = spans.map((s) => {
    const r = rootOf(s.span_id);
    return [s.span_id, parent.get(s.span_id) ?? null, traceId(r)];
  });
  await engine.exec('CREATE OR REPLACE TABLE span_links (span_id VARCHAR, parent_span_id VARCHAR, trace_id VARCHAR)');
  await engine.insertRows('span_links', links);
  await engine.exec(`CREATE OR REPLACE TABLE edges_t (parent_span_id VARCHAR, child_span_id VARCHAR, evidence VARCHAR,
    all_evidence_json VARCHAR, confidence DOUBLE, alternatives INTEGER)`);
  await engine.insertRows(
    'edges_t',
    kept.map((c) => [c.parent, c.child, c.evidence, JSON.stringify(c.all_evidence), c.confidence, Number(c.alternatives)]),
  );
  const traces = new Set(links.map((l) => l[2])).size;
  return { traces, edges: kept.length };
}
