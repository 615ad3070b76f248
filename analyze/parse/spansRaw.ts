import type { Engine } from '../engine/engine.js';
import { noneOf, oneOf } from '../engine/sqlLists.js';
import { rowIdFields } from '../protocols/registry.js';

/**
 * `spans_raw` (one row per span, times on each node's own clock) and `span_ids` from the call sides: the
 * connection's 4-tuple and the thread's name joined in, and the public `span_id` derived from the call's place
 * (node, socket, side, position on the connection), so the same capture always gives the same ids. Ids of the
 * fields a protocol's spec names as row ids (database rows, no request's id) go to `span_row_ids` instead, which
 * only correlate/resourceIds.ts reads: never content evidence, never the spans' `request_ids`.
 * Join keys are aliased: with two joins ClickHouse names a column both sides have by its qualified name (`s.node`).
 */
export async function buildSpansRaw(engine: Engine): Promise<void> {
  const d = engine.dialect;
  await engine.exec(
    d.createTableAs(
      'spans_raw',
      `SELECT substr(sha256(concat_ws('|', s.node, coalesce(c.conn_id::VARCHAR, 'null'), coalesce(c.local_addr, 'null'),
                coalesce(c.local_port::VARCHAR, 'null'), coalesce(c.remote_addr, 'null'), coalesce(c.remote_port::VARCHAR, 'null'),
                s.kind, s.call_index::VARCHAR)), 1, 16) AS span_id,
              s.sid, s.kind, s.node AS node, s.pid AS pid, s.tid AS tid, s.gid, s.resp_tid, s.resp_gid, t.comm, s.conn_idx AS conn_idx, c.conn_id, c.netns,
              c.local_addr, c.local_port, c.remote_addr, c.remote_port, s.protocol, s.method, s.path, s.status, s.call_index,
              s.raw_start_ns, s.raw_req_end_ns, s.raw_resp_start_ns, s.raw_end_ns, s.req_bytes, s.resp_bytes, s.req_seq,
              s.resp_seq, s.head_complete, s.req_seen,
              NULL::BIGINT AS msg_idx, NULL::VARCHAR AS messaging_op, NULL::VARCHAR AS rpc_kind, NULL::BOOLEAN AS broker
       FROM call_sides s JOIN conns c ON c.conn_idx = s.conn_idx
       LEFT JOIN threads t ON t.node = s.node AND t.pid = s.pid AND t.tid = s.tid`,
    ),
  );
  const ids = (where: string): string => `SELECT s.span_id, i.field, i.value FROM call_ids i JOIN spans_raw s ON s.sid = i.sid WHERE ${where}`;
  await engine.exec(d.createTableAs('span_ids', ids(noneOf(d, 'i.field', rowIdFields))));
  await engine.exec(d.createTableAs('span_row_ids', ids(oneOf(d, 'i.field', rowIdFields))));
}
