import type { Engine } from '../engine/engine.js';
// Span id fields holding a request id: each protocol's spec names its own (HTTP headers, oslo's RPC context, `req-...` in bodies and SQL).
import { requestIdFields } from '../protocols/registry.js';

/** Evidence name of an owner found by a request id it carries or inherits across processes. */
export const TRACE_REQUEST_ID_EVIDENCE = 'content:trace_request_id';
/** Confidence of a unit whose request ids single out one open inbound request (below exact evidence). */
export const TRACE_REQUEST_ID_CONFIDENCE = 0.95;
/** Evidence that names an owner outright: a request id does not override it. */
const EXACT_EVIDENCE = ['thread', 'green:greenlet', 'green:reply'];
/** Guesses from the order of socket events, sessions and resource ids: a request id overrides them. */
const INFERRED_EVIDENCE = ['green:resume', 'green:fifo', 'green:session', 'content:uuid', 'timing'];
/** Pointer-doubling rounds for the nearest ancestor carrying a request id (2^16 hops up: more than any trace). */
const MAX_ROUNDS = 16;

/**
 * Request ids across processes (`content:trace_request_id`). OpenStack passes one request id along a whole request:
 * nova-api answers with `X-OpenStack-Request-ID: req-A`, puts req-A in the oslo context of every RPC it makes,
 * conductor and compute copy that context into theirs, and every call they make carries it again (`_context_request_id`
 * in RPC heads, `X-OpenStack-Request-ID` towards neutron and placement, `request_id` in instance_actions rows). An RPC
 * handler's own head often loses its context to the 2 KB snaplen (nova-compute's `build_and_run_instance`: the
 * instance and request spec come first), but its request id is still known from the trace it belongs to: the
 * nearest ancestor that carries one, through the exact cross-process links (broker hops, spatial) and the best
 * ownership guess so far. In an eventlet process, many green threads share one OS thread, so an outbound call or a
 * database session is owned by the open inbound request whose (own or inherited) request id it carries: if exactly
 * one open request in the process has it, that request owns the unit and the guesses made from the order of socket
 * events, sessions and resource ids for another owner (`green:*`, `content:uuid`, `timing`) are dropped; several
 * share the confidence. Exact evidence (`thread`, `green:greenlet`, `green:reply`) is never overridden.
 * Needs `candidates` with every other kind of evidence and `owner_units` (correlate/dbSession.ts).
 */
export async function correlateTraceRequestIds(engine: Engine): Promise<void> {
  const d = engine.dialect;
  const list = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');
  await engine.exec(d.createScratchTableAs('rid_own', `SELECT DISTINCT span_id, lower(value) AS value FROM span_ids WHERE field IN (${list(requestIdFields)})`));
  await engine.exec(d.createScratchTableAs('rid_has', 'SELECT DISTINCT span_id FROM rid_own'));
  // The best parent of each span so far, with agreeing evidence combined (and rounded) as trace assembly does.
  await engine.exec(
    d.createScratchTableAs(
      'rid_parent',
      `SELECT child, parent FROM (
         SELECT child, parent, row_number() OVER (PARTITION BY child ORDER BY confidence DESC, parent) AS rk
         FROM (SELECT child, parent, round(1 - ${d.product('1 - confidence')}, 12) AS confidence
               FROM (SELECT parent, child, evidence, max(confidence) AS confidence FROM candidates GROUP BY parent, child, evidence) x
               GROUP BY child, parent) p) r
       WHERE rk = 1`,
    ),
  );
  // anc: the span itself when it carries an id, else a span at or below the nearest ancestor carrying one;
  // pointer doubling moves it up until it carries one (or the chain ends: NULL). A span whose anc carries an id or
  // is NULL is resolved (rid_done) and never changes again, so each round joins only the spans still climbing
  // (rid_pending) against both: rounds get cheaper as spans resolve, instead of rewriting every span each round
  // (the same rounds and the same result as doubling over all spans).
  await engine.exec(
    d.createScratchTableAs(
      'rid_walk_start',
      `SELECT x.span_id AS span_id, x.anc AS anc, x.anc IS NULL OR h.span_id IS NOT NULL AS done
       FROM (SELECT s.span_id AS span_id, CASE WHEN h.span_id IS NOT NULL THEN s.span_id ELSE p.parent END AS anc
             FROM spans_raw s LEFT JOIN rid_has h ON h.span_id = s.span_id LEFT JOIN rid_parent p ON p.child = s.span_id) x
       LEFT JOIN rid_has h ON h.span_id = x.anc`,
    ),
  );
  await engine.exec(d.createScratchTableAs('rid_done', 'SELECT span_id, anc FROM rid_walk_start WHERE done'));
  await engine.exec(d.createScratchTableAs('rid_pending', 'SELECT span_id, anc FROM rid_walk_start WHERE NOT done'));
  await engine.exec('DROP TABLE rid_walk_start');
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const [r] = await engine.query<{ n: bigint }>('SELECT count(*) AS n FROM rid_pending');
    if (Number(r?.n ?? 0n) === 0) break;
    // A pending span's anc carries no id: it takes its anc's anc, resolved (done: carries an id, or NULL), still
    // climbing (pending), or none when its anc is no span.
    await engine.exec(
      d.createScratchTableAs(
        'rid_next',
        `SELECT x.span_id AS span_id, CASE WHEN p.span_id IS NOT NULL THEN p.anc ELSE y.anc END AS anc, p.span_id IS NULL AS done
         FROM rid_pending x LEFT JOIN rid_done y ON y.span_id = x.anc LEFT JOIN rid_pending p ON p.span_id = x.anc`,
      ),
    );
    await engine.insertByName('rid_done', 'SELECT span_id, anc FROM rid_next WHERE done');
    await engine.exec('DROP TABLE rid_pending');
    await engine.exec(d.createScratchTableAs('rid_pending', 'SELECT span_id, anc FROM rid_next WHERE NOT done'));
    await engine.exec('DROP TABLE rid_next');
  }
  // Request ids of every inbound request (its own, else its nearest ancestor's; a chain still climbing, a cycle,
  // has none: its anc carries no id), with the end the wire gives it, else the one estimated from the replies nothing
  // names (handlerEnds.ts, as database sessions use): an RPC handler whose reply lost its `_msg_id` to the snaplen
  // stays open on the wire, and with it every later unit of its request split its confidence with it (on the
  // schema-1 compute sample five `object_action` handlers of one request, answered 0.07-1.6 s before, shared a
  // session with the handler that made it).
  await engine.exec(
    d.createScratchTableAs(
      'rid_handlers',
      `SELECT s.span_id AS span_id, s.node AS node, s.pid AS pid, s.raw_start_ns AS raw_start_ns, coalesce(s.raw_end_ns, e.end_ns) AS raw_end_ns, o.value AS value
       FROM spans_raw s JOIN rid_done w ON w.span_id = s.span_id JOIN rid_own o ON o.span_id = w.anc
       LEFT JOIN handler_ends e ON e.span_id = s.span_id AND e.how = 'reply'
       WHERE s.kind = 'server'`,
    ),
  );
  // Units that share one owner: those owner_units groups (database sessions, RPC calls), and every other outbound
  // call on its own. Which calls owner_units holds is dbSession.ts's knowledge: no protocol is named here.
  await engine.exec(
    d.createScratchTableAs(
      'rid_units',
      `SELECT span_id, node, pid, raw_start_ns, unit FROM owner_units
       UNION ALL
       SELECT s.span_id, s.node, s.pid, s.raw_start_ns, s.span_id AS unit FROM spans_raw s
       WHERE s.kind = 'client' AND s.span_id NOT IN (SELECT span_id FROM owner_units)`,
    ),
  );
  const exact = list(EXACT_EVIDENCE);
  await engine.exec(
    d.createScratchTableAs(
      'rid_owners',
      `WITH bounds AS (SELECT unit, min(node) AS node, min(pid) AS pid, min(raw_start_ns) AS t0 FROM rid_units GROUP BY unit),
       ids AS (SELECT DISTINCT u.unit AS unit, o.value AS value FROM rid_units u JOIN rid_own o ON o.span_id = u.span_id),
       matched AS (
         SELECT DISTINCT b.unit AS unit, h.span_id AS owner
         FROM bounds b JOIN ids i ON i.unit = b.unit JOIN rid_handlers h ON h.value = i.value
         WHERE h.node = b.node AND h.pid = b.pid AND h.raw_start_ns <= b.t0 AND (h.raw_end_ns IS NULL OR h.raw_end_ns >= b.t0))
       SELECT m.unit AS unit, m.owner AS owner, count(*) OVER (PARTITION BY m.unit) AS n FROM matched m`,
    ),
  );
  await engine.exec(
    d.createScratchTableAs(
      'rid_new',
      `SELECT o.owner AS parent, u.span_id AS child, o.n AS n
       FROM rid_owners o JOIN rid_units u ON u.unit = o.unit
       WHERE u.span_id <> o.owner AND u.span_id NOT IN (SELECT child FROM candidates WHERE evidence IN (${exact}))`,
    ),
  );
  // A handler serves one request: an open handler whose own head names request ids, none of them the unit's, is
  // another request's, and an inferred guess for it is dropped when the unit's request id names some open handler
  // of the process (so the id is this process's request, not a callee's own id in a response). On the schema-1
  // compute sample, nova-conductor's InstanceActionEvent sessions name the request in SQL
  // (`instance_actions.request_id = 'req-...'`) and five other handlers of that request inherit it (the confidence
  // is split six ways), while a handler of another request naming the same instance took them by its UUID and
  // the sweep's resume.
  await engine.exec(
    d.createScratchTableAs(
      'rid_foreign',
      `WITH unit_ids AS (SELECT DISTINCT u.unit AS unit, o.value AS value FROM rid_units u JOIN rid_own o ON o.span_id = u.span_id),
       agree AS (SELECT DISTINCT i.unit AS unit, o.span_id AS owner FROM unit_ids i JOIN rid_own o ON o.value = i.value),
       guesses AS (
         SELECT DISTINCT u.unit AS unit, u.span_id AS child, c.parent AS parent
         FROM rid_units u JOIN (SELECT DISTINCT unit FROM rid_owners) m ON m.unit = u.unit
         JOIN candidates c ON c.child = u.span_id AND c.evidence IN (${list(INFERRED_EVIDENCE)})
         JOIN rid_has h ON h.span_id = c.parent)
       SELECT g.parent AS parent, g.child AS child FROM guesses g
       LEFT JOIN agree a ON a.unit = g.unit AND a.owner = g.parent WHERE a.unit IS NULL`,
    ),
  );
  // Inferred guesses for another owner of a unit its request id names alone are dropped, and those for an owner of
  // another request.
  await engine.exec(
    d.createTableAs(
      'candidates_kept',
      `SELECT c.parent AS parent, c.child AS child, c.evidence AS evidence, c.confidence AS confidence FROM candidates c
       LEFT JOIN (SELECT parent, child FROM rid_new WHERE n = 1) r ON r.child = c.child
       LEFT JOIN rid_foreign f ON f.parent = c.parent AND f.child = c.child
       WHERE (f.child IS NULL OR c.evidence NOT IN (${list(INFERRED_EVIDENCE)}))
         AND (r.child IS NULL OR c.parent = r.parent OR c.evidence NOT IN (${list(INFERRED_EVIDENCE)}))
       UNION ALL
       SELECT r.parent, r.child, '${TRACE_REQUEST_ID_EVIDENCE}' AS evidence, ${TRACE_REQUEST_ID_CONFIDENCE} / r.n AS confidence FROM rid_new r
       -- a pair content evidence already links by the owner's own request id keeps that name (correlate/content.ts)
       LEFT JOIN (SELECT DISTINCT parent, child FROM candidates WHERE evidence IN (${list(requestIdFields.map((f) => `content:${f}`))})) k
         ON k.parent = r.parent AND k.child = r.child
       WHERE k.child IS NULL`,
    ),
  );
  await engine.exec('DROP TABLE candidates');
  await engine.exec(d.renameTable('candidates_kept', 'candidates'));
  for (const t of ['rid_own', 'rid_has', 'rid_parent', 'rid_done', 'rid_pending', 'rid_handlers', 'rid_units', 'rid_owners', 'rid_new', 'rid_foreign']) await engine.exec(`DROP TABLE IF EXISTS ${t}`);
}
