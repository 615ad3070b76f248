import type { Engine } from '../engine/engine.js';
import { oneOf } from '../engine/sqlLists.js';
import { messagingProtocols, pooledSessionProtocols, sessionBeginPaths, sessionEndPaths } from '../protocols/registry.js';

/** Confidence of a statement's owner taken from the rest of its database transaction (above green:resume's 0.85). */
export const SESSION_CONFIDENCE = 0.9;
/** A session nothing else places, begun while one inbound request of its process was open (handler ends estimated). */
export const ONE_OPEN_EVIDENCE = 'green:one_open';
export const ONE_OPEN_CONFIDENCE = 0.8;
/**
 * A session whose owner an object's row id singles out: the RPC head's serialised nova object (`ComputeNode` id 1,
 * `BlockDeviceMapping` id 76) and the statements' `compute_nodes.id = 1` (resourceIds.ts). nova-conductor's
 * `object_action` handlers save the object they were sent, by its primary key, naming no UUID: on the schema-1
 * compute sample the 7 such sessions placed wrong were each named by exactly one open handler, the right one.
 */
export const ROW_ID_EVIDENCE = 'content:row_id';
/** A session whose owner is singled out by keystone ids only (project, user; no UUID): resourceIds.ts. */
export const KEYSTONE_ID_EVIDENCE = 'content:keystone_id';
/**
 * A lone RPC call (not a database session) ranks the open requests by the ids its head shares with them first, the
 * sweep's votes only between equals: the sweep cannot tell apart green threads that block and wake in turn, while
 * the head of nova-compute's `object_action` calls names the instance (the `args` come before the cut). On the
 * schema-1 compute sample the sweep's `green:fifo`/`green:resume` vote (x10) outweighed an instance UUID only one
 * open handler names in 31 calls (the calls of a build went to another build or a terminate open on the same compute
 * node at the same time), all 31 wrong in the truth.
 * Shared ids count 1/(open requests sharing each), so 100 x their difference (>= 1/k for k open sharers) outweighs
 * any vote of one call (a few evidence rows of confidence < 1 each).
 */
const LONE_CALL_ID_WEIGHT = 100;
/** Evidence that names a statement's owner outright; it outweighs inferred evidence tenfold in a session's vote. */
const EXACT_EVIDENCE = ['thread', 'green:greenlet', 'green:reply'];
const EXACT_WEIGHT = 10;

/**
 * Database-session and resource-id evidence for green threads (`green:session`, `content:uuid`). A pooled SQL
 * connection serves one green thread from checkout to checkin: oslo.db checks a connection out with a ping
 * (`SELECT 1`) and SQLAlchemy gives it back with a `ROLLBACK` (after a `COMMIT` for writes), so on the wire a session
 * runs from a ping or the statement after a ROLLBACK/COMMIT to the next ROLLBACK, and every statement in it was made
 * by one green thread for one request. Measured on the shipped schema-1 compute sample: each of nova-conductor's 589
 * sessions holding ground-truth points had a single owner in the truth, while the per-statement sweep
 * (`green:resume`, `green:fifo`) split 46 of them.
 *
 * So each session (and each RPC call made, on its own) gets one owner, and its calls without exact evidence get it
 * too (0.9, above `green:resume`):
 * - with exact evidence on some statement (`thread`, `green:greenlet`, `green:reply`): the owner that evidence names
 *   (thread-per-request services and greenlet-id captures: nothing changes there);
 * - otherwise, among the inbound requests of the process open when the session began, those about a resource the
 *   session names (a UUID in both: correlate/resourceIds.ts) come first (`content:uuid`), ranked by the sweep's votes
 *   for them, then by the ids they share, each weighted 1/(open requests sharing it), then the latest begun;
 *   a lone RPC call only takes an owner its ids single out. Keystone ids (project, user) count the same way, named
 *   `content:keystone_id` where no UUID is shared: nova-conductor's quota checks in schedule_and_build_instances
 *   name only the project and user, which the build's head carries in its args (on the schema-1 compute sample
 *   these sessions went to whichever green thread the sweep saw last, often another project's handler);
 * - without such a request, the sweep's votes summed over the session (`green:session`);
 * - a session with none of these, begun while only one inbound request of the process was open, is that request's
 *   (`green:one_open`; handlers whose reply the capture cannot name and cast handlers get the ends estimated by
 *   correlate/handlerEnds.ts: on the schema-1 compute sample 164 of nova-conductor's handlers never end on the wire).
 * Open requests are those whose window holds the session's start, with the reply-estimated ends of handlerEnds.ts.
 */
export async function correlateDbSessions(engine: Engine): Promise<void> {
  const d = engine.dialect;
  // Statements of pooled connections (SQL: protocols/registry.ts), the paths that begin and end a session, RPC calls.
  const pooled = oneOf(d, 'protocol', pooledSessionProtocols);
  const ends = (col: string): string => oneOf(d, col, sessionEndPaths);
  const begins = oneOf(d, 'q.path', sessionBeginPaths);
  const rpc = oneOf(d, 'protocol', messagingProtocols);
  await engine.exec(
    d.createTableAs(
      'db_sessions',
      `WITH q AS (
         SELECT span_id, node, pid, conn_idx, path, raw_start_ns,
                row_number() OVER (PARTITION BY node, conn_idx ORDER BY raw_start_ns, span_id) AS rn
         FROM spans_raw WHERE ${pooled} AND kind = 'client'),
       b AS (
         SELECT q.span_id AS span_id, q.node AS node, q.pid AS pid, q.conn_idx AS conn_idx, q.raw_start_ns AS raw_start_ns, q.rn AS rn,
                CASE WHEN q.rn = 1 THEN 1
                     WHEN ${ends('q.path')} THEN 0
                     WHEN ${ends('p.path')} OR ${begins} THEN 1 ELSE 0 END AS starts
         FROM q LEFT JOIN q p ON p.node = q.node AND p.conn_idx = q.conn_idx AND p.rn + 1 = q.rn)
       SELECT span_id, node, pid, conn_idx, raw_start_ns,
              sum(starts) OVER (PARTITION BY node, conn_idx ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session
       FROM b`,
    ),
  );
  // Units that share one owner: a database session, or an RPC call or cast made, on its own. HTTP calls are left
  // out: on the schema-1 sample their UUIDs (placement paths) broke 15 right owners and fixed 10, the handler that
  // made a call often having the UUID beyond its 2 KB head, where no id can be seen.
  await engine.exec(
    d.createTableAs(
      'owner_units',
      `SELECT span_id, node, pid, raw_start_ns, node || '/' || CAST(conn_idx AS VARCHAR) || '/' || CAST(session AS VARCHAR) AS unit FROM db_sessions
       UNION ALL
       SELECT span_id, node, pid, raw_start_ns, span_id AS unit FROM spans_raw
       WHERE kind = 'client' AND ${rpc}`,
    ),
  );
  // Inbound requests with the end the wire gives them, else the one estimated from unnamed replies (handlerEnds.ts).
  await engine.exec(
    d.createScratchTableAs(
      'handler_windows',
      `SELECT s.span_id AS span_id, s.node AS node, s.pid AS pid, s.raw_start_ns AS raw_start_ns,
              coalesce(s.raw_end_ns, r.end_ns) AS end_ns, coalesce(s.raw_end_ns, r.end_ns, n.end_ns) AS last_ns
       FROM spans_raw s LEFT JOIN handler_ends r ON r.span_id = s.span_id AND r.how = 'reply'
       LEFT JOIN handler_ends n ON n.span_id = s.span_id AND n.how = 'next' WHERE s.kind = 'server'`,
    ),
  );
  const exact = EXACT_EVIDENCE.map((e) => `'${e}'`).join(', ');
  await engine.exec(`INSERT INTO candidates
    WITH bounds AS (
      SELECT unit, min(node) AS node, min(pid) AS pid, min(raw_start_ns) AS t0, count(*) AS n FROM owner_units GROUP BY unit),
    votes AS (
      SELECT x.unit AS unit, c.parent AS owner,
             sum(CASE WHEN c.evidence IN (${exact}) THEN ${EXACT_WEIGHT} ELSE 1 END * c.confidence) AS vote,
             max(CASE WHEN c.evidence IN (${exact}) THEN 1 ELSE 0 END) AS exact
      FROM owner_units x JOIN candidates c ON c.child = x.span_id
      GROUP BY x.unit, c.parent),
    -- the ids each unit names and the ids each inbound request names, joined on (id, node, pid): an id many spans
    -- share (a flavor's or a compute node's row, a tenant's project) must not pair every span naming it first
    named AS (
      SELECT DISTINCT b.unit AS unit, b.node AS node, b.pid AS pid, b.t0 AS t0, r.value AS value, r.kind AS kind
      FROM bounds b JOIN owner_units x ON x.unit = b.unit JOIN resource_ids r ON r.span_id = x.span_id),
    held AS (
      SELECT rs.value AS value, s.node AS node, s.pid AS pid, s.span_id AS span_id, s.raw_start_ns AS raw_start_ns, s.end_ns AS end_ns
      FROM resource_ids rs JOIN handler_windows s ON s.span_id = rs.span_id),
    shared_ids AS (
      SELECT DISTINCT n.unit AS unit, n.value AS value, h.span_id AS owner,
             -- a keystone id (project, user) only tells tenants apart, a row id names one database row, every other
             -- kind a resource (resourceIds.ts)
             CASE WHEN n.kind = 'keystone_id' THEN 0 WHEN n.kind = 'row_id' THEN 2 ELSE 1 END AS is_uuid
      FROM named n JOIN held h ON h.value = n.value AND h.node = n.node AND h.pid = n.pid
      WHERE h.raw_start_ns <= n.t0 AND (h.end_ns IS NULL OR h.end_ns >= n.t0)),
    content AS (
      -- an id few open requests share counts more than one many share (a compute node's UUID names every build)
      SELECT unit, owner, sum(1.0 / n) AS shared, max(is_uuid) AS by_uuid
      FROM (SELECT unit, value, owner, is_uuid, count(*) OVER (PARTITION BY unit, value) AS n FROM shared_ids) v
      GROUP BY unit, owner),
    opts AS (
      SELECT unit, owner, sum(vote) AS vote, max(exact) AS exact, sum(shared) AS shared, max(by_uuid) AS by_uuid
      FROM (SELECT unit, owner, vote, exact, 0 AS shared, 0 AS by_uuid FROM votes
            UNION ALL SELECT unit, owner, 0 AS vote, 0 AS exact, shared, by_uuid FROM content) u
      GROUP BY unit, owner),
    flags AS (
      SELECT unit, max(exact) AS any_exact, CASE WHEN max(shared) > 0 THEN 1 ELSE 0 END AS any_shared FROM opts GROUP BY unit),
    scored AS (
      SELECT o.unit AS unit, o.owner AS owner, o.shared AS shared, o.by_uuid AS by_uuid, f.any_exact AS any_exact, f.any_shared AS any_shared,
             CASE WHEN f.any_exact = 1 THEN o.vote
                  -- an RPC call on its own: the ids in its head before the sweep's order (see LONE_CALL_ID_WEIGHT)
                  WHEN b.n = 1 THEN (CASE WHEN o.shared > 0 THEN 1000 ELSE 0 END) + ${LONE_CALL_ID_WEIGHT} * round(o.shared, 6) + o.vote
                  ELSE (CASE WHEN o.shared > 0 THEN 1000 ELSE 0 END) + 10 * o.vote + o.shared END AS score,
             s.raw_start_ns AS owner_start
      FROM opts o JOIN flags f ON f.unit = o.unit JOIN bounds b ON b.unit = o.unit LEFT JOIN spans_raw s ON s.span_id = o.owner),
    winner AS (
      SELECT unit, owner, any_exact, any_shared,
             CASE WHEN any_exact = 0 AND shared > 0 AND by_uuid = 2 THEN '${ROW_ID_EVIDENCE}'
                  WHEN any_exact = 0 AND shared > 0 AND by_uuid = 1 THEN 'content:uuid'
                  WHEN any_exact = 0 AND shared > 0 THEN '${KEYSTONE_ID_EVIDENCE}' ELSE 'green:session' END AS evidence,
             row_number() OVER (PARTITION BY unit ORDER BY score DESC, owner_start DESC, owner) AS rk,
             count(*) OVER (PARTITION BY unit, score) AS tied
      FROM scored),
    chosen AS (
      SELECT w.unit AS unit, w.owner AS owner, w.evidence AS evidence
      FROM winner w JOIN bounds b ON b.unit = w.unit
      -- a database session takes its best owner; a call on its own only an owner its ids single out
      WHERE w.rk = 1 AND (b.n > 1 OR (w.any_exact = 0 AND w.any_shared > 0 AND w.evidence <> 'green:session' AND w.tied = 1)))
    SELECT w.owner, x.span_id, w.evidence, ${SESSION_CONFIDENCE}
    FROM chosen w JOIN owner_units x ON x.unit = w.unit
    WHERE (w.evidence <> 'green:session' OR x.unit <> x.span_id)
      AND x.span_id NOT IN (SELECT child FROM candidates WHERE evidence IN (${exact}))`);
  // A session nothing else places, begun while only one inbound request of its process was open, is that one's.
  await engine.exec(`INSERT INTO candidates
    WITH bounds AS (
      SELECT unit, min(node) AS node, min(pid) AS pid, min(raw_start_ns) AS t0, count(*) AS n FROM owner_units GROUP BY unit),
    placed AS (SELECT DISTINCT x.unit AS unit FROM owner_units x JOIN candidates c ON c.child = x.span_id),
    open AS (
      SELECT b.unit AS unit, min(w.span_id) AS owner, count(*) AS k
      -- the sessions nothing placed are picked before the join: filtered after it, every session of a process met
      -- every handler that began before it (11.5 M rows for 32 k rows kept on the 1 M bench set)
      FROM (SELECT unit, node, pid, t0 FROM bounds WHERE n > 1 AND unit NOT IN (SELECT unit FROM placed)) b
      JOIN handler_windows w ON w.node = b.node AND w.pid = b.pid
      WHERE w.raw_start_ns <= b.t0 AND (w.last_ns IS NULL OR w.last_ns >= b.t0)
      GROUP BY b.unit)
    SELECT o.owner, x.span_id, '${ONE_OPEN_EVIDENCE}', ${ONE_OPEN_CONFIDENCE}
    FROM open o JOIN owner_units x ON x.unit = o.unit WHERE o.k = 1
      -- with greenlet ids (capture schema 2) a session nothing places is a greenlet's no request owns: it stays so
      AND x.span_id IN (SELECT span_id FROM spans_raw WHERE gid IS NULL)`);
  await engine.exec('DROP TABLE IF EXISTS handler_windows');
}
