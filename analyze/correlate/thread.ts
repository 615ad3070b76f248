import type { Engine } from '../engine/engine.js';

/** Confidence of a thread link when the thread had exactly one inbound request open. */
export const THREAD_CONFIDENCE = 0.9;

/**
 * Thread evidence (vPath/DeepFlow): an inbound request owns the outbound calls its thread starts between reading
 * it and writing the response. On one node and process only, so raw node-local times are exact. When several
 * inbound requests are open on the thread (green threads, async servers), the latest-started one gets 0.5 and
 * the others less: never a silent guess.
 */
export async function correlateThread(engine: Engine): Promise<void> {
  await engine.exec(`INSERT INTO candidates
    SELECT sid, cid, 'thread',
           CASE WHEN n = 1 THEN ${THREAD_CONFIDENCE} WHEN rk = 1 THEN 0.5 ELSE 0.3 / n END
    FROM (
      SELECT s.span_id AS sid, c.span_id AS cid,
             count(*) OVER (PARTITION BY c.span_id) AS n,
             row_number() OVER (PARTITION BY c.span_id ORDER BY s.raw_start_ns DESC, s.span_id) AS rk
      FROM spans_raw s JOIN spans_raw c
        ON s.node = c.node AND s.pid = c.pid AND (c.tid = s.tid OR c.tid = s.resp_tid)
       AND c.raw_start_ns >= s.raw_start_ns
       AND (s.raw_resp_start_ns IS NULL OR c.raw_start_ns <= s.raw_resp_start_ns)
      WHERE s.kind = 'server' AND c.kind = 'client')`);
}
