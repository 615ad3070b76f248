import type { Engine } from '../engine/engine.js';

/** Message ids that name one RPC call end to end through a broker (oslo.messaging: call and reply share it). */
export const BROKER_ID_FIELDS = ['_msg_id'] as const;
export const BROKER_HOP_CONFIDENCE = 0.95;

/**
 * Broker hops: TCP sequence numbers cannot cross a message broker, so the caller's side of an RPC (a client span
 * that published the call) is linked to the server side (a server span the call was delivered to) by the message
 * id both carry. The server side must start after the caller's (clocks corrected); n matches divide the
 * confidence. Runs after clock correction (uses spans_t).
 */
export async function correlateBrokerHops(engine: Engine): Promise<void> {
  const fields = BROKER_ID_FIELDS.map((f) => `'${f}'`).join(', ');
  await engine.exec(`INSERT INTO candidates
    SELECT cid, sid, 'content:' || field, ${BROKER_HOP_CONFIDENCE} / n
    FROM (
      SELECT c.span_id AS cid, s.span_id AS sid, ci.field, count(*) OVER (PARTITION BY s.span_id, ci.field) AS n
      FROM span_ids ci JOIN spans_t c ON c.span_id = ci.span_id
      JOIN span_ids si ON si.value = ci.value AND si.field = ci.field
      JOIN spans_t s ON s.span_id = si.span_id
      WHERE ci.field IN (${fields}) AND c.kind = 'client' AND s.kind = 'server' AND c.protocol = s.protocol
        AND NOT (c.node = s.node AND c.pid = s.pid)
        AND s.start_ns >= c.start_ns - 1000000
      GROUP BY c.span_id, s.span_id, ci.field)`);
}
