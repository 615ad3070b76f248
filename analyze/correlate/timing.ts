import type { Engine } from '../engine/engine.js';

/** Confidence of a timing link when one inbound request of the process was open around the call. */
export const TIMING_CONFIDENCE = 0.6;
/** Candidates kept per call: the tightest windows. */
export const TIMING_TOP_K = 3;

/**
 * Timing evidence for work handed to other threads (thread pools, executors), for calls the ownership sweep could
 * not place on their own thread: an outbound call that starts and ends inside an inbound request's window in the
 * same process may belong to it. With one such request: 0.6. With n open, the tightest window (least time between
 * the request's read and the call's start plus between the call's end and the response: a waiting handler answers
 * as soon as its pool work returns) gets 0.3 and the next ones 0.3/n; only the TIMING_TOP_K tightest are kept, and
 * only closed windows count, so the work stays linear in the calls times the requests open at once.
 */
export async function correlateTiming(engine: Engine): Promise<void> {
  await engine.exec(`INSERT INTO candidates
    SELECT sid, cid, 'timing', CASE WHEN n = 1 THEN ${TIMING_CONFIDENCE} WHEN rk = 1 THEN ${TIMING_CONFIDENCE} / 2 ELSE ${TIMING_CONFIDENCE} / (2 * n) END
    FROM (
      SELECT s.span_id AS sid, c.span_id AS cid, count(*) OVER (PARTITION BY c.span_id) AS n,
             row_number() OVER (PARTITION BY c.span_id ORDER BY (c.raw_start_ns - s.raw_start_ns) + (s.raw_resp_start_ns - c.raw_end_ns), s.span_id) AS rk
      FROM spans_raw s JOIN spans_raw c
        ON s.node = c.node AND s.pid = c.pid
       AND c.raw_start_ns >= s.raw_start_ns AND c.raw_end_ns <= s.raw_resp_start_ns
      WHERE s.kind = 'server' AND c.kind = 'client' AND s.raw_resp_start_ns IS NOT NULL
        AND c.span_id NOT IN (SELECT child FROM candidates WHERE evidence = 'thread' OR evidence LIKE 'green:%'))
    WHERE rk <= ${TIMING_TOP_K}`);
}
