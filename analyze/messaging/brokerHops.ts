import type { Engine } from '../engine/engine.js';

/** Confidence of a publish -> delivery link by arrival order alone (same exchange, routing key, size, body head). */
export const FIFO_CONFIDENCE = 0.9;

/**
 * Follows every message through the broker, adding the links to `candidates`:
 * 1. on the wire (`spatial`): a message's producer span and its consumer span at the other end of the same TCP
 *    connection carry the same bytes at the same sequence number (publisher -> broker, broker -> consumer);
 * 2. through the broker (`broker:<how>`): the broker's (or, when the broker was not captured, the publisher's) side
 *    of a publish to the broker's (or the consumer's) side of each delivery of it, the most exact evidence first:
 *    the message's own `_unique_id`; the whole body (a hash: bodies carry `_unique_id`, so equal bodies are one
 *    message); `_msg_id` with the same kind (a call and its reply share it); else arrival order: deliveries of one
 *    exchange and routing key, with the same body size and body head, in publish order (per consuming connection
 *    for fanout exchanges, which copy each message to every queue).
 * Deliveries never start before their publish. Tables: `msg_publishes`, `msg_deliveries`, `broker_hops`.
 */
export async function correlateBrokerHops(engine: Engine): Promise<void> {
  const d = engine.dialect;
  await engine.exec(`INSERT INTO candidates
    SELECT p.span_id, c.span_id, 'spatial', 1.0
    FROM spans_raw p JOIN spans_raw c
      ON p.req_seq = c.req_seq AND p.local_port = c.remote_port AND p.remote_port = c.local_port
     AND p.local_addr = c.remote_addr AND p.remote_addr = c.local_addr
    WHERE p.kind = 'producer' AND c.kind = 'consumer' AND p.protocol = 'amqp' AND c.protocol = 'amqp'`);
  // One row per message as it entered the broker (its publish) and as it left it (each delivery): the broker's own
  // view when captured, else the application's. `span_id` is the span a hop starts from / leads to.
  const view = (entering: boolean) => {
    const [appKind, brokerKind, op] = entering ? ['producer', 'consumer', 'publish'] : ['consumer', 'producer', 'deliver'];
    // The broker-side span on the other end of the wire from the application span, if captured.
    return `SELECT coalesce(b.span_id, a.span_id) AS span_id, coalesce(b.raw_start_ns, a.raw_start_ns) AS t,
                   coalesce(b.node, a.node) AS node, coalesce(b.pid, a.pid) AS pid, m.exchange, m.routing_key, m.body_size,
                   m.body_prefix_hash, m.body_hash, m.unique_id, m.msg_id, m.oslo_kind = 'reply' AS is_reply,
                   ${entering ? 'NULL::INTEGER' : 'a.conn_idx'} AS app_conn
            FROM spans_raw a JOIN amqp_msgs m ON m.msg_idx = a.msg_idx
            LEFT JOIN candidates w ON w.evidence = 'spatial' AND w.${entering ? 'parent' : 'child'} = a.span_id
            LEFT JOIN spans_raw b ON b.span_id = w.${entering ? 'child' : 'parent'} AND b.kind = '${brokerKind}' AND b.protocol = 'amqp'
            WHERE a.kind = '${appKind}' AND a.protocol = 'amqp' AND NOT a.broker AND a.messaging_op = '${op}'
            UNION ALL
            -- broker sides whose application end was not captured
            SELECT b.span_id, b.raw_start_ns, b.node, b.pid, m.exchange, m.routing_key, m.body_size, m.body_prefix_hash, m.body_hash,
                   m.unique_id, m.msg_id, m.oslo_kind = 'reply', NULL::INTEGER
            FROM spans_raw b JOIN amqp_msgs m ON m.msg_idx = b.msg_idx
            WHERE b.kind = '${brokerKind}' AND b.protocol = 'amqp' AND b.broker AND b.messaging_op = '${op}'
              AND b.span_id NOT IN (SELECT ${entering ? 'child' : 'parent'} FROM candidates WHERE evidence = 'spatial')`;
  };
  await engine.exec(d.createTableAs('msg_publishes', view(true)));
  await engine.exec(d.createTableAs('msg_deliveries', view(false)));
  await engine.exec(`CREATE OR REPLACE TABLE broker_hops (pub VARCHAR, del VARCHAR, how VARCHAR, confidence DOUBLE)`);
  const exact: [string, string][] = [
    ['_unique_id', 'p.unique_id = x.unique_id'],
    ['body', 'p.body_hash = x.body_hash AND p.exchange IS NOT DISTINCT FROM x.exchange AND p.routing_key IS NOT DISTINCT FROM x.routing_key'],
    ['_msg_id', 'p.msg_id = x.msg_id AND p.is_reply = x.is_reply AND (p.unique_id IS NULL OR x.unique_id IS NULL)'],
  ];
  for (const [how, on] of exact) {
    await engine.exec(`INSERT INTO broker_hops
      SELECT p.span_id, x.span_id, '${how}', 1.0 FROM msg_publishes p JOIN msg_deliveries x ON ${on}
      WHERE x.t >= p.t AND x.span_id NOT IN (SELECT del FROM broker_hops) AND p.span_id NOT IN (SELECT pub FROM broker_hops)`);
  }
  // Arrival order for what is left. A publish to a fanout exchange reaches every queue bound to it: ranks are kept
  // per consuming connection there, and across connections elsewhere (competing consumers of one queue take
  // messages in publish order).
  const key = 'exchange, routing_key, body_size, body_prefix_hash';
  await engine.exec(`INSERT INTO broker_hops
    SELECT p.span_id, x.span_id, 'fifo', ${FIFO_CONFIDENCE}
    FROM (SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY t, span_id) AS rk FROM msg_publishes
          WHERE span_id NOT IN (SELECT pub FROM broker_hops) AND body_prefix_hash IS NOT NULL) p
    JOIN (SELECT *, row_number() OVER (PARTITION BY ${key}, CASE WHEN right(exchange, 7) = '_fanout' THEN app_conn END ORDER BY t, span_id) AS rk
          FROM msg_deliveries WHERE span_id NOT IN (SELECT del FROM broker_hops) AND body_prefix_hash IS NOT NULL) x
      ON p.rk = x.rk AND p.exchange IS NOT DISTINCT FROM x.exchange AND p.routing_key IS NOT DISTINCT FROM x.routing_key
     AND p.body_size IS NOT DISTINCT FROM x.body_size AND p.body_prefix_hash = x.body_prefix_hash
    WHERE x.t >= p.t`);
  await engine.exec(`INSERT INTO candidates SELECT pub, del, 'broker:' || how, confidence FROM broker_hops`);
  // Within one application: the RPC call made -> its publish, a delivery -> the RPC call handled.
  await engine.exec(`INSERT INTO candidates
    SELECT c.span_id, p.span_id, 'message', 1.0 FROM spans_raw c JOIN spans_raw p ON p.msg_idx = c.msg_idx
    WHERE c.kind = 'client' AND p.kind = 'producer' AND c.protocol = 'amqp' AND p.protocol = 'amqp'
    UNION ALL
    SELECT c.span_id, s.span_id, 'message', 1.0 FROM spans_raw c JOIN spans_raw s ON s.msg_idx = c.msg_idx
    WHERE c.kind = 'consumer' AND s.kind = 'server' AND c.protocol = 'amqp' AND s.protocol = 'amqp'`);
}
