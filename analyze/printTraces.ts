import { DuckDbEngine } from './engine/duckdb.js';

interface Row {
  span_id: string;
  trace_id: string;
  parent_span_id: string | null;
  kind: string;
  service: string | null;
  node: string;
  method: string | null;
  path: string | null;
  status: string | null;
  start_ns: bigint;
  end_ns: bigint;
  evidence: string | null;
  confidence: number | null;
}

/** The first `limit` traces (largest first) of an analysis database as indented trees, one line per span. */
export async function printTraces(database: string, limit: number): Promise<string> {
  const e = await DuckDbEngine.open(database);
  try {
    const rows = await e.query<Row>(`
      WITH t AS (SELECT trace_id, count(*) AS n, min(start_ns) AS t0 FROM spans GROUP BY 1 ORDER BY n DESC, t0 LIMIT ${Math.max(0, Math.floor(limit))})
      SELECT s.span_id, s.trace_id, s.parent_span_id, s.kind, s.service, s.node, s.method, s.path, s.status, s.start_ns, s.end_ns,
             ed.evidence, ed.confidence
      FROM spans s JOIN t USING (trace_id) LEFT JOIN edges ed ON ed.child_span_id = s.span_id
      ORDER BY t.n DESC, t.t0, s.trace_id, s.start_ns`);
    const byTrace = new Map<string, Row[]>();
    for (const r of rows) (byTrace.get(r.trace_id) ?? byTrace.set(r.trace_id, []).get(r.trace_id)!).push(r);
    const out: string[] = [];
    for (const [id, spans] of byTrace) {
      out.push(`trace ${id} (${spans.length} spans)`);
      const children = new Map<string | null, Row[]>();
      for (const s of spans) (children.get(s.parent_span_id) ?? children.set(s.parent_span_id, []).get(s.parent_span_id)!).push(s);
      const walk = (parent: string | null, depth: number): void => {
        for (const s of children.get(parent) ?? []) {
          const ms = Number(s.end_ns - s.start_ns) / 1e6;
          const via = s.evidence ? `  <- ${s.evidence} ${s.confidence?.toFixed(2)}` : '';
          out.push(`${'  '.repeat(depth + 1)}${s.kind} ${s.service ?? '?'}@${s.node} ${s.method ?? ''} ${s.path ?? ''} ${s.status ?? '-'} ${ms.toFixed(2)} ms${via}`);
          walk(s.span_id, depth + 1);
        }
      };
      walk(null, 0);
    }
    return out.join('\n') + (out.length ? '\n' : '');
  } finally {
    e.close();
  }
}
