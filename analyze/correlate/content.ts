import type { Engine } from '../engine/engine.js';

/** Confidence of a content link with a single matching inbound request. */
export const CONTENT_CONFIDENCE = 0.95;

/**
 * Content evidence: an outbound call carrying an id (request id header, global request id, trace id) that an
 * inbound request of the same process carried, started while that request was open, belongs to it; this holds
 * when threads cannot (pools, green threads). Evidence is named after the child's field: `content:<field>`.
 */
export async function correlateContent(engine: Engine): Promise<void> {
  await engine.exec(`INSERT INTO candidates
    SELECT sid, cid, 'content:' || field, ${CONTENT_CONFIDENCE} / n
    FROM (
      SELECT s.span_id AS sid, c.span_id AS cid, ci.field AS field, count(*) OVER (PARTITION BY c.span_id, ci.field) AS n
      FROM span_ids ci JOIN spans_raw c ON c.span_id = ci.span_id
      JOIN span_ids si ON si.value = ci.value
      JOIN spans_raw s ON s.span_id = si.span_id
      WHERE c.kind = 'client' AND s.kind = 'server' AND s.node = c.node AND s.pid = c.pid
        AND c.raw_start_ns >= s.raw_start_ns
        AND (s.raw_resp_start_ns IS NULL OR c.raw_start_ns <= s.raw_resp_start_ns)
      GROUP BY s.span_id, c.span_id, ci.field)`);
}
