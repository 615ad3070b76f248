import type { Engine } from '../engine/engine.js';

/** Confidence of a timing link when one inbound request of the process was open around the call. */
export const TIMING_CONFIDENCE = 0.6;
/** Candidates kept per call: the tightest windows. */
export const TIMING_TOP_K = 3;
/**
 * Width of the time buckets the windows are joined on (ns). A window is cut into the buckets it covers, a call
 * looks only in the bucket where it starts; 1 s keeps almost every window in one bucket (on the generated 1 M set:
 * median server window 0.15 ms, 195 of 171 k over 1 s, the longest 10 s) and the windows sharing a bucket few.
 */
const BUCKET_NS = 1_000_000_000;

/**
 * Timing evidence for work handed to other threads (thread pools, executors), for calls the ownership sweep could
 * not place on their own thread (not those of a green thread the capture names that no request owns: background
 * work, `green_unowned`): an outbound call that starts and ends inside an inbound request's window in the
 * same process may belong to it. With one such request: 0.6. With n open, the tightest window (least time between
 * the request's read and the call's start plus between the call's end and the response: a waiting handler answers
 * as soon as its pool work returns) gets 0.3 and the next ones 0.3/n; only the TIMING_TOP_K tightest are kept, and
 * only closed windows count.
 *
 * The join is on (node, pid, time bucket), not on (node, pid) alone: a long-lived process collects server spans for
 * the whole capture, and pairing each of its calls with every one of them grew with the square of the capture
 * (x48 from 1 M to 10 M events). A window that contains a call contains the bucket the call starts in, so each
 * window is listed once per bucket it covers (`timing_windows`) and each call meets only the windows open in its
 * own second: the same pairs, in work proportional to the calls times the requests open at once.
 */
export async function correlateTiming(engine: Engine): Promise<void> {
  const d = engine.dialect;
  const bucket = (t: string): string => `CAST(floor(${t} / ${BUCKET_NS}) AS BIGINT)`;
  await engine.exec(
    d.createScratchTableAs(
      'timing_windows',
      `SELECT span_id, node, pid, raw_start_ns, raw_resp_start_ns, ${d.unnestRange(bucket('raw_start_ns'), bucket('raw_resp_start_ns'))} AS bucket
       FROM spans_raw WHERE kind = 'server' AND raw_resp_start_ns IS NOT NULL AND raw_start_ns IS NOT NULL`,
    ),
  );
  await engine.exec(`INSERT INTO candidates
    SELECT sid, cid, 'timing', CASE WHEN n = 1 THEN ${TIMING_CONFIDENCE} WHEN rk = 1 THEN ${TIMING_CONFIDENCE} / 2 ELSE ${TIMING_CONFIDENCE} / (2 * n) END
    FROM (
      SELECT s.span_id AS sid, c.span_id AS cid, count(*) OVER (PARTITION BY c.span_id) AS n,
             row_number() OVER (PARTITION BY c.span_id ORDER BY (c.raw_start_ns - s.raw_start_ns) + (s.raw_resp_start_ns - c.raw_end_ns), s.span_id) AS rk
      FROM (SELECT span_id, node, pid, raw_start_ns, raw_end_ns, ${bucket('raw_start_ns')} AS bucket FROM spans_raw
            WHERE kind = 'client' AND raw_start_ns IS NOT NULL
              AND span_id NOT IN (SELECT child FROM candidates WHERE evidence = 'thread' OR evidence LIKE 'green:%')
              AND span_id NOT IN (SELECT span_id FROM green_unowned)) c
      JOIN timing_windows s
        ON s.node = c.node AND s.pid = c.pid AND s.bucket = c.bucket
       AND c.raw_start_ns >= s.raw_start_ns AND c.raw_end_ns <= s.raw_resp_start_ns)
    WHERE rk <= ${TIMING_TOP_K}`);
  await engine.exec('DROP TABLE timing_windows');
}
