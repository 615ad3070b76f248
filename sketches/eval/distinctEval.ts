import { hash64, type Hash64 } from '../hash64.js';
import { HyperLogLog } from '../hyperloglog.js';
import { buildSketches, timed, type Item } from './buildSketches.js';
import { relativeError, summarize, type EvalRow, type QueryOutcome } from './evalRow.js';
import type { EvalContext } from './evalContext.js';

export const PRECISIONS = [4, 6, 8, 10, 12, 14];
const QUERY_SET = 'distinct counts (per service and overall)';

/** The distinct-count questions, as SQL over `obs` returning (key, part, value VARCHAR). */
const ITEMS_SQL = `
  SELECT 'traces of ' || service AS key, part, trace_id AS value FROM obs
  UNION ALL SELECT 'connections of ' || service, part, conn_id::VARCHAR FROM obs
  UNION ALL SELECT 'remote endpoints of ' || service, part, remote_addr || ':' || remote_port FROM obs
  UNION ALL SELECT 'request ids of ' || service, part, unnest(request_ids) FROM obs
  UNION ALL SELECT 'operations of ' || service, part, operation FROM obs
  UNION ALL SELECT 'all spans', part, span_id FROM obs
  UNION ALL SELECT 'all traces', part, trace_id FROM obs`;

/**
 * HyperLogLog per question at each p, single-pass and merged over parts, against count(DISTINCT) and DuckDB's
 * approx_count_distinct. Bound: 3 standard errors (3 x 1.04/sqrt(2^p)); a Gaussian error stays inside in 99.7 % of
 * queries, so up to 1 % of queries may exceed it.
 */
export async function evalDistinct(ctx: EvalContext): Promise<EvalRow[]> {
  const engine = ctx.engine;
  await engine.exec(`CREATE OR REPLACE TABLE d_items AS SELECT * FROM (${ITEMS_SQL}) WHERE value IS NOT NULL`);
  const raw = await engine.query<{ key: string; part: string; value: string }>('SELECT key, part, value FROM d_items');
  // Hash once; every p reuses the hashes.
  const items: Item<Hash64>[] = raw.map((r) => ({ key: r.key, part: r.part, value: hash64(r.value) }));
  const exact = new Map((await engine.query<{ key: string; n: bigint }>('SELECT key, count(DISTINCT value) n FROM d_items GROUP BY key')).map((r) => [r.key, Number(r.n)]));
  ctx.progress(`${QUERY_SET}: ${exact.size} questions, ${items.length} values`);
  const rows: EvalRow[] = [];
  for (const p of PRECISIONS) {
    const built = buildSketches(items, {
      make: () => new HyperLogLog({ p }),
      add: (s, h) => s.addHash(h.hi, h.lo),
      encode: (s) => s.encode(),
      decode: (b) => HyperLogLog.decode(b),
      merge: (a, b) => a.merge(b),
    });
    if (p === ctx.defaults.p) ctx.store('hyperloglog', { p }, QUERY_SET, built.partBlobs, built.merged, (s) => s.encode());
    const bound = 3 * HyperLogLog.standardError(p);
    for (const merged of [false, true]) {
      const sketches = merged ? built.merged : built.single;
      let same = true;
      const outcomes: QueryOutcome[] = [];
      for (const [key, n] of exact) {
        const est = sketches.get(key)!.estimate();
        if (merged && est !== built.single.get(key)!.estimate()) same = false;
        const err = relativeError(est, n);
        outcomes.push({ query: `${key} (${n})`, error: err, within: err <= bound });
      }
      rows.push(
        summarize(
          {
            sketch: 'hyperloglog', source: 'nitrace', query_set: QUERY_SET, params: { p }, merged, parts: merged ? built.parts : 1,
            sketches: sketches.size, bytes: merged ? built.mergedBytes : built.singleBytes, part_bytes: merged ? built.partBytes : null,
            bound, allowed_violation_share: 0.01, build_ms: built.buildMs, merge_ms: merged ? built.mergeMs : null,
            same_as_single: merged ? same : null, metric: 'relative error of the distinct count',
          },
          outcomes,
        ),
      );
    }
  }
  const [approx, ms] = await timed(() => engine.query<{ key: string; n: bigint }>('SELECT key, approx_count_distinct(value) n FROM d_items GROUP BY key'));
  rows.push(
    summarize(
      {
        sketch: 'approx_count_distinct', source: 'duckdb', query_set: QUERY_SET, params: {}, merged: false, parts: 1, sketches: approx.length,
        bytes: null, part_bytes: null, bound: null, allowed_violation_share: null, build_ms: ms, merge_ms: null, same_as_single: null,
        metric: 'relative error of the distinct count',
      },
      approx.map((a) => ({ query: a.key, error: relativeError(Number(a.n), exact.get(a.key)!), within: null })),
    ),
  );
  for (const ext of ctx.external) {
    await ext.load('nitrace_d_items', 'String', raw);
    const [ans, ms2] = await timed(() => ext.query<{ key: string; n: number | string }>('SELECT key, uniqHLL12(value) AS n FROM nitrace_d_items GROUP BY key'));
    await ext.drop('nitrace_d_items');
    rows.push(
      summarize(
        {
          sketch: 'uniqHLL12', source: ext.name, query_set: QUERY_SET, params: {}, merged: false, parts: 1, sketches: ans.length,
          bytes: null, part_bytes: null, bound: null, allowed_violation_share: null, build_ms: ms2, merge_ms: null, same_as_single: null,
          metric: 'relative error of the distinct count',
        },
        ans.map((a) => ({ query: a.key, error: relativeError(Number(a.n), exact.get(a.key)!), within: null })),
      ),
    );
  }
  await engine.exec('DROP TABLE d_items');
  return rows;
}
