import type { Engine } from '../engine/engine.js';

/**
 * Pairs RPC calls with their replies where the message ids say so (oslo.messaging: a reply carries its call's
 * `_msg_id`; the caller gets it on its reply queue):
 * - the server side: the reply a process publishes answers the call it was delivered with the same `_msg_id`: a
 *   `content:_msg_id` link from the RPC server span to the reply's producer span, and the server span ends where
 *   the reply was sent;
 * - the caller side: the RPC client span ends when the reply with its `_msg_id` was delivered to the same process.
 * Replies whose ids the capture cut off are paired later by ownership (the handler that sent them).
 */
export async function pairRpcReplies(engine: Engine): Promise<void> {
  await engine.exec(`INSERT INTO candidates
    SELECT s.span_id, r.span_id, 'content:_msg_id', 1.0
    FROM spans_raw s JOIN amqp_msgs sm ON sm.msg_idx = s.msg_idx
    JOIN amqp_msgs rm ON rm.msg_id = sm.msg_id AND rm.node = sm.node AND rm.pid = sm.pid
    JOIN spans_raw r ON r.msg_idx = rm.msg_idx
    WHERE s.kind = 'server' AND s.protocol = 'amqp' AND r.kind = 'producer' AND r.protocol = 'amqp' AND NOT r.broker
      AND rm.oslo_kind = 'reply' AND r.raw_start_ns >= s.raw_start_ns`);
  await setRpcEnds(engine);
}

/**
 * Closes RPC spans from the reply links known so far: a server span ends where it sent its last reply (a call's
 * `ending` reply follows its heartbeats), a client span where the reply to its call reached its process.
 */
export async function setRpcEnds(engine: Engine): Promise<void> {
  const set = { raw_end_ns: 'e.t', raw_resp_start_ns: 'e.t0', status: 'e.status' };
  await engine.updateFrom({
    table: 'spans_raw',
    source: `SELECT x.parent AS span_id, max(r.raw_end_ns) AS t, max(r.raw_start_ns) AS t0, max(r.status) AS status
             FROM candidates x JOIN spans_raw r ON r.span_id = x.child
             WHERE x.evidence = 'content:_msg_id' AND r.kind = 'producer' AND r.protocol = 'amqp' GROUP BY x.parent`,
    key: 'span_id',
    set,
    where: "s.kind = 'server'",
  });
  await engine.updateFrom({
    table: 'spans_raw',
    source: `SELECT cl.span_id AS span_id, max(r.raw_end_ns) AS t, max(r.raw_start_ns) AS t0, max(r.status) AS status
             FROM spans_raw cl JOIN amqp_msgs cm ON cm.msg_idx = cl.msg_idx
             JOIN amqp_msgs rm ON rm.msg_id = cm.msg_id AND rm.node = cm.node AND rm.pid = cm.pid AND rm.oslo_kind = 'reply' AND rm.dir = 'recv'
             JOIN spans_raw r ON r.msg_idx = rm.msg_idx AND r.kind = 'consumer'
             WHERE cl.kind = 'client' AND cl.protocol = 'amqp' AND r.raw_start_ns >= cl.raw_start_ns GROUP BY cl.span_id`,
    key: 'span_id',
    set,
    where: "s.kind = 'client'",
  });
}
