import type { Diagnostics } from '../diagnostics.js';
import type { Engine } from '../engine/engine.js';
import { protocols } from '../protocols/registry.js';

/** The kind of the edge into a span, from its protocol's spec (docs/analysis-schema.md). */
export const EDGE_KIND_SQL = `CASE protocol ${protocols.map((p) => `WHEN '${p.name}' THEN '${p.edgeKind}'`).join(' ')} ELSE protocol END`;

/** Decimal digits kept of a combined confidence (far below any difference between two kinds of evidence). */
const CONFIDENCE_DIGITS = 12;
/** Pointer-doubling rounds: enough for ancestors 2^40 hops up; a span still unresolved after them is in a cycle. */
const MAX_ROUNDS = 40;

/**
 * Trace assembly, in the engine: for every span, the parent whose evidence is strongest (confidences of agreeing
 * evidence kinds combine as 1 - prod(1 - c)); then every span's root by pointer doubling (each round replaces a
 * span's ancestor by its ancestor's ancestor: log2(depth) joins over the spans, not a walk per span in JS). A link
 * that closes a cycle (conflicting evidence) is dropped, weakest first, and counted. Connected components become
 * traces, each with one root (a span with no parent), its id derived from the root's. Writes `edges_t` (chosen
 * links) and `span_links` (span -> parent, trace).
 */
export async function assembleTraces(engine: Engine, diag: Diagnostics): Promise<{ traces: number; edges: number }> {
  const d = engine.dialect;
  // Evidence kinds of a (child, parent) pair, strongest first. Nearly every pair has one kind: an ordered list
  // aggregate over all pairs was most of this stage's time, so only pairs with several kinds build a list.
  const evidences = d.listAgg('evidence', 'confidence DESC, evidence');
  await engine.exec(
    d.createTableAs(
      'edges_t',
      `WITH dedup AS (SELECT parent, child, evidence, max(confidence) AS confidence FROM candidates GROUP BY ALL),
       -- rounded: a product of three or more factors depends on the order the engine multiplies them in (0.9985 vs
       -- 0.9984999999999999 between two runs), and the outputs must not
       pairs AS (
         SELECT child, parent, count(*) AS kinds, min(evidence) AS only_evidence, round(1 - ${d.product('1 - confidence')}, ${CONFIDENCE_DIGITS}) AS confidence
         FROM dedup GROUP BY child, parent),
       several AS (
         SELECT child, parent, ${evidences} AS evidences
         FROM (SELECT x.child AS child, x.parent AS parent, x.evidence AS evidence, x.confidence AS confidence
               FROM dedup x JOIN pairs p ON p.child = x.child AND p.parent = x.parent AND p.kinds > 1)
         GROUP BY child, parent),
       pc AS (
         SELECT p.child AS child, p.parent AS parent,
                CASE WHEN p.kinds = 1 THEN p.only_evidence ELSE ${d.listElement('m.evidences', 1)} END AS evidence,
                CASE WHEN p.kinds = 1 THEN ${d.toJson('[p.only_evidence]')} ELSE ${d.toJson('m.evidences')} END AS all_evidence_json,
                p.confidence AS confidence
         FROM pairs p LEFT JOIN several m ON m.child = p.child AND m.parent = p.parent),
       ranked AS (
         SELECT *, row_number() OVER (PARTITION BY child ORDER BY confidence DESC, parent) AS rk,
                count(*) OVER (PARTITION BY child) - 1 AS alternatives
         FROM pc)
       SELECT parent AS parent_span_id, child AS child_span_id, evidence, all_evidence_json, confidence, alternatives::INTEGER AS alternatives
       FROM ranked WHERE rk = 1`,
    ),
  );
  const cyclic = await resolveRoots(engine);
  if (cyclic > 0) {
    // Conflicting evidence closed cycles: among the few spans that never reached a root, take links strongest first
    // and drop each one that would close a cycle (the small set is handled in JS).
    const links = await engine.query<{ child: string; parent: string; confidence: number }>(`SELECT e.child_span_id AS child, e.parent_span_id AS parent, e.confidence
      FROM edges_t e JOIN span_roots r ON r.span_id = e.child_span_id WHERE NOT r.done ORDER BY e.confidence DESC, e.child_span_id`);
    const parent = new Map<string, string>();
    const dropped: string[] = [];
    for (const l of links) {
      let p: string | undefined = l.parent;
      for (let guard = 0; p !== undefined && p !== l.child && guard < links.length + 1; guard++) p = parent.get(p);
      if (p === l.child) dropped.push(l.child);
      else parent.set(l.child, l.parent);
    }
    for (let i = 0; i < dropped.length; i += 1000) {
      await engine.exec(`DELETE FROM edges_t WHERE child_span_id IN (${dropped.slice(i, i + 1000).map((x) => `'${x}'`).join(', ')})`);
    }
    diag.warn('edge-cycle', 'parent links dropped because they would make a cycle', dropped.length);
    await resolveRoots(engine);
  }
  await engine.exec(
    d.createTableAs(
      'span_links',
      `SELECT r.span_id, e.parent_span_id, substr(sha256('trace|' || r.anc), 1, 32) AS trace_id
       FROM span_roots r LEFT JOIN edges_t e ON e.child_span_id = r.span_id`,
    ),
  );
  const [k] = await engine.query<{ traces: bigint; edges: bigint }>(
    'SELECT (SELECT count(DISTINCT trace_id) FROM span_links) AS traces, (SELECT count(*) FROM edges_t) AS edges',
  );
  return { traces: Number(k!.traces), edges: Number(k!.edges) };
}

/**
 * `span_roots(span_id, anc, done)`: each span's root (done) by pointer doubling over edges_t; returns how many
 * spans never reached one (they are on or below a cycle). Each round joins only the spans still climbing
 * (`roots_pending`), against the resolved ones (`roots_done`) and themselves: rounds get cheaper as spans resolve,
 * instead of rewriting every span each round. A span whose ancestor is no span at all ends with NULL `anc`/`done`.
 */
async function resolveRoots(engine: Engine): Promise<number> {
  const d = engine.dialect;
  await engine.exec(
    d.createScratchTableAs(
      'roots_start',
      `SELECT s.span_id AS span_id, coalesce(e.parent_span_id, s.span_id) AS anc, e.parent_span_id IS NULL AS done
       FROM spans_t s LEFT JOIN edges_t e ON e.child_span_id = s.span_id`,
    ),
  );
  await engine.exec(d.createScratchTableAs('roots_done', 'SELECT span_id, anc, done FROM roots_start WHERE done'));
  await engine.exec(d.createScratchTableAs('roots_pending', 'SELECT span_id, anc FROM roots_start WHERE NOT done'));
  await engine.exec('DROP TABLE roots_start');
  let pending = -1;
  for (let round = 0; round <= MAX_ROUNDS; round++) {
    const [r] = await engine.query<{ n: bigint }>('SELECT count(*) AS n FROM roots_pending');
    pending = Number(r?.n ?? 0n);
    if (pending === 0 || round === MAX_ROUNDS) break;
    // A span's ancestor is resolved (its root is known: done), still climbing (one more doubling), or no span (NULL).
    await engine.exec(
      d.createScratchTableAs(
        'roots_next',
        `SELECT x.span_id AS span_id, CASE WHEN y.span_id IS NOT NULL THEN y.anc ELSE p.anc END AS anc,
                CASE WHEN y.span_id IS NOT NULL THEN true WHEN p.span_id IS NOT NULL THEN false END AS done
         FROM roots_pending x LEFT JOIN roots_done y ON y.span_id = x.anc LEFT JOIN roots_pending p ON p.span_id = x.anc`,
      ),
    );
    await engine.insertByName('roots_done', 'SELECT span_id, anc, done FROM roots_next WHERE done IS NULL OR done');
    await engine.exec('DROP TABLE roots_pending');
    await engine.exec(d.createScratchTableAs('roots_pending', 'SELECT span_id, anc FROM roots_next WHERE NOT done'));
    await engine.exec('DROP TABLE roots_next');
  }
  await engine.exec(
    d.createTableAs('span_roots', 'SELECT span_id, anc, done FROM roots_done UNION ALL SELECT span_id, anc, false AS done FROM roots_pending'),
  );
  await engine.exec('DROP TABLE roots_done');
  await engine.exec('DROP TABLE roots_pending');
  return pending;
}
