import type { Engine } from '../engine/engine.js';

/**
 * Spans from AMQP messages (OpenTelemetry messaging conventions), appended to `spans_raw`:
 * - every publish and every delivery seen on a connection is a wire span: `producer` where the bytes were sent
 *   (an application publishing, or the broker delivering), `consumer` where they were received (the broker taking a
 *   publish, an application taking a delivery). The broker's spans make the relay visible in the trace.
 * - an application that publishes an RPC request (oslo.messaging call or cast) makes the call: a `client` span, parent
 *   of its producer span, from the publish to the reply's arrival (calls; filled in by rpcPairs.ts);
 * - an application that takes a delivered RPC request handles it: a `server` span, child of its consumer span, from
 *   the delivery to the reply it publishes (calls) or to the end of its handling (casts).
 * Internal ids of message spans are negative: -(4 * msg_idx + 1..3), so they never meet call sides' ids.
 * Tables: `amqp_msgs` (amqp_messages numbered), rows added to `spans_raw` and `span_ids`.
 */
export async function buildMessageSpans(engine: Engine): Promise<void> {
  const d = engine.dialect;
  await engine.exec(
    d.createTableAs(
      'amqp_msgs',
      `SELECT CAST(row_number() OVER (ORDER BY conn_idx, raw_start_ns, tcp_seq, dir, channel, delivery_tag) AS BIGINT) AS msg_idx,
              CAST(row_number() OVER (PARTITION BY conn_idx ORDER BY raw_start_ns, tcp_seq, dir, channel, delivery_tag) AS BIGINT) AS conn_pos,
              *,
              method IN ('basic.publish', 'basic.deliver', 'basic.get-ok') AS content,
              coalesce(oslo_kind IN ('call', 'cast') OR (oslo_kind = 'unknown' AND oslo_method IS NOT NULL), false) AS rpc_request
       FROM amqp_messages`,
    ),
  );
  const ubigint = d.type('UBIGINT');
  const common = `m.node AS node, m.pid AS pid, m.tid AS tid, m.gid, NULL::INTEGER AS resp_tid, CAST(NULL AS ${ubigint}) AS resp_gid, t.comm, m.conn_idx AS conn_idx, c.conn_id, c.netns,
    c.local_addr, c.local_port, c.remote_addr, c.remote_port, 'amqp' AS protocol`;
  const spanId = (kind: string) => `substr(sha256(concat_ws('|', m.node, coalesce(c.conn_id::VARCHAR, 'null'), coalesce(c.local_addr, 'null'),
      coalesce(c.local_port::VARCHAR, 'null'), coalesce(c.remote_addr, 'null'), coalesce(c.remote_port::VARCHAR, 'null'),
      ${kind}, 'amqp', m.conn_pos::VARCHAR)), 1, 16)`;
  const from = `FROM amqp_msgs m JOIN conns c ON c.conn_idx = m.conn_idx LEFT JOIN threads t ON t.node = m.node AND t.pid = m.pid AND t.tid = m.tid`;
  const rpcMethod = `coalesce(m.oslo_method, CASE WHEN m.oslo_kind = 'reply' THEN 'reply' END, m.method)`;
  const path = `coalesce(m.exchange, '') || '/' || coalesce(m.routing_key, '')`;
  const wireKind = `CASE WHEN m.dir = 'send' THEN 'producer' ELSE 'consumer' END`;
  // Wire spans: every message, where it was sent and where it was received.
  await engine.insertByName('spans_raw', `
    SELECT ${spanId(wireKind)} AS span_id, -(4 * m.msg_idx + 1) AS sid, ${wireKind} AS kind, ${common},
           ${rpcMethod} AS method, ${path} AS path,
           CASE WHEN m.failed THEN 'error' WHEN m.oslo_kind = 'reply' THEN 'ok' END AS status, m.conn_pos::INTEGER AS call_index,
           m.raw_start_ns, m.raw_end_ns AS raw_req_end_ns, NULL::BIGINT AS raw_resp_start_ns, m.raw_end_ns,
           m.length AS req_bytes, NULL::BIGINT AS resp_bytes, m.tcp_seq AS req_seq, CAST(NULL AS ${ubigint}) AS resp_seq,
           m.body_complete AS head_complete, true AS req_seen,
           m.msg_idx, CASE WHEN m.method = 'basic.publish' THEN 'publish' ELSE 'deliver' END AS messaging_op,
           m.oslo_kind AS rpc_kind, m.broker_side AS broker
    ${from} WHERE m.content`);
  // RPC spans: the call made (client, at the publisher) and the call handled (server, at the consumer).
  for (const [kind, dir, k] of [['client', 'send', 3], ['server', 'recv', 2]] as const) {
    await engine.insertByName('spans_raw', `
      SELECT ${spanId(`'${kind}'`)} AS span_id, -(4 * m.msg_idx + ${k}) AS sid, '${kind}' AS kind, ${common},
             ${rpcMethod} AS method, ${path} AS path, NULL::VARCHAR AS status, m.conn_pos::INTEGER AS call_index,
             m.raw_start_ns, m.raw_end_ns AS raw_req_end_ns, NULL::BIGINT AS raw_resp_start_ns, NULL::BIGINT AS raw_end_ns,
             m.length AS req_bytes, NULL::BIGINT AS resp_bytes, CAST(NULL AS ${ubigint}) AS req_seq, CAST(NULL AS ${ubigint}) AS resp_seq,
             m.body_complete AS head_complete, true AS req_seen,
             m.msg_idx, 'rpc' AS messaging_op, m.oslo_kind AS rpc_kind, false AS broker
      ${from} WHERE m.content AND m.rpc_request AND NOT m.broker_side AND m.dir = '${dir}'`);
  }
  // Content ids of messages, on their wire and RPC spans: request ids link across processes; _msg_id pairs replies.
  await engine.exec(`INSERT INTO span_ids
    SELECT s.span_id, f.field, f.value FROM spans_raw s JOIN (
      SELECT msg_idx, 'request_id' AS field, request_id AS value FROM amqp_msgs WHERE request_id IS NOT NULL
      UNION ALL SELECT msg_idx, 'global_request_id', global_request_id FROM amqp_msgs WHERE global_request_id IS NOT NULL
      UNION ALL SELECT msg_idx, '_msg_id', msg_id FROM amqp_msgs WHERE msg_id IS NOT NULL
      UNION ALL SELECT msg_idx, '_unique_id', unique_id FROM amqp_msgs WHERE unique_id IS NOT NULL) f ON f.msg_idx = s.msg_idx
    WHERE s.protocol = 'amqp'`);
}
