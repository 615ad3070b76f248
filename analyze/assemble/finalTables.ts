import type { Engine } from '../engine/engine.js';
import { EDGE_KIND_SQL } from './traces.js';

/**
 * Builds the outputs `spans` and `edges` (columns of docs/analysis-schema.md, then extra columns) from the
 * assembled links, service labels and content ids. `spans` is a view: as a table it was a third copy of every
 * span (36 columns) compressed into the database file, most of this step's time and CPU (10 M-event capture:
 * 3.7 M spans), and each reader (the Parquet file, the two exports, `edges`) reads it once anyway. Neither is
 * sorted here: every output file is written with its own ORDER BY.
 * Columns of more than one joined table are aliased (ClickHouse would name them `t.span_id`).
 */
export async function buildFinalTables(engine: Engine): Promise<void> {
  const d = engine.dialect;
  await engine.exec(
    `CREATE OR REPLACE VIEW spans AS
       SELECT t.span_id AS span_id, l.trace_id, l.parent_span_id, t.kind, t.node AS node, t.pid AS pid, t.tid, t.comm,
              coalesce(sv.service, t.comm) AS service, t.conn_id, t.local_addr, t.local_port, t.remote_addr, t.remote_port,
              t.protocol, t.method, t.path, t.status, t.start_ns, t.end_ns, t.req_bytes, t.resp_bytes,
              coalesce(i.ids, ${d.emptyList('VARCHAR')}) AS request_ids,
              t.call_index, t.resp_tid, t.netns, t.req_seq, t.resp_seq, t.raw_start_ns, t.raw_end_ns, t.resp_start_ns,
              t.head_complete, t.req_seen, t.gid, t.messaging_op, t.rpc_kind
       FROM spans_t t JOIN span_links l ON l.span_id = t.span_id
       LEFT JOIN services sv ON sv.node = t.node AND sv.pid = t.pid
       LEFT JOIN (SELECT span_id, ${d.listAgg('DISTINCT value', 'value')} AS ids FROM span_ids GROUP BY span_id) i ON i.span_id = t.span_id`,
  );
  await engine.exec(
    d.createTableAs(
      'edges',
      // The two columns it needs from the child span come from the tables `spans` joins (a span's trace and its
      // protocol): reading the view would join services and aggregate every span's ids for nothing.
      `SELECT l.trace_id AS trace_id, e.parent_span_id AS parent_span_id, e.child_span_id AS child_span_id,
              ${EDGE_KIND_SQL.replaceAll('protocol', 'r.protocol')} AS edge_kind,
              e.evidence AS evidence, ${d.jsonStringList('e.all_evidence_json')} AS all_evidence, e.confidence AS confidence, e.alternatives AS alternatives
       FROM edges_t e JOIN span_links l ON l.span_id = e.child_span_id JOIN spans_raw r ON r.span_id = e.child_span_id`,
    ),
  );
}
