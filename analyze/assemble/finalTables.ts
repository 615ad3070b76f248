import type { Engine } from '../engine/engine.js';
import { EDGE_KIND_SQL } from './traces.js';

/**
 * Builds the output tables `spans` and `edges` (columns of docs/analysis-schema.md, then extra columns) from the
 * assembled links, service labels and content ids.
 */
export async function buildFinalTables(engine: Engine): Promise<void> {
  await engine.exec(`CREATE OR REPLACE TABLE spans AS
    SELECT t.span_id, l.trace_id, l.parent_span_id, t.kind, t.node, t.pid, t.tid, t.comm,
           coalesce(sv.service, t.comm) AS service, t.conn_id, t.local_addr, t.local_port, t.remote_addr, t.remote_port,
           t.protocol, t.method, t.path, t.status, t.start_ns, t.end_ns, t.req_bytes, t.resp_bytes,
           coalesce((SELECT list(DISTINCT i.value ORDER BY i.value) FROM span_ids i WHERE i.span_id = t.span_id), []::VARCHAR[]) AS request_ids,
           t.call_index, t.resp_tid, t.netns, t.req_seq, t.resp_seq, t.raw_start_ns, t.raw_end_ns, t.resp_start_ns, t.head_complete, t.req_seen
    FROM spans_t t JOIN span_links l ON l.span_id = t.span_id
    LEFT JOIN services sv ON sv.node = t.node AND sv.pid = t.pid
    ORDER BY l.trace_id, t.start_ns, t.span_id`);
  await engine.exec(`CREATE OR REPLACE TABLE edges AS
    SELECT s.trace_id, e.parent_span_id, e.child_span_id, ${EDGE_KIND_SQL.replaceAll('protocol', 's.protocol')} AS edge_kind,
           e.evidence, from_json(e.all_evidence_json, '["VARCHAR"]') AS all_evidence, e.confidence, e.alternatives
    FROM edges_t e JOIN spans s ON s.span_id = e.child_span_id
    ORDER BY s.trace_id, s.start_ns, e.child_span_id`);
}
