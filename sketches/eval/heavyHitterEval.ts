import { SpaceSaving } from '../spaceSaving.js';
import { buildSketches, timed, type Item } from './buildSketches.js';
import { summarize, type EvalRow, type QueryOutcome } from './evalRow.js';
import type { EvalContext } from './evalContext.js';

export const CAPACITIES = [8, 16, 32, 64, 128, 256];
/** Items asked about: the exact top TOP_K and the sketch's own top TOP_K. */
export const TOP_K = 20;

export const HEAVY_HITTER_SETS: Record<string, string> = {
  'top endpoints (service, kind, operation)': `SELECT '' AS key, part, service || ' ' || kind || ' ' || operation AS value FROM obs`,
  'top call edges (parent -> child)': `SELECT '' AS key, c.part AS part,
      p.service || ' ' || p.operation || ' -> ' || c.service || ' ' || c.operation AS value
      FROM edges e JOIN obs p ON p.span_id = e.parent_span_id JOIN obs c ON c.span_id = e.child_span_id`,
};

/**
 * SpaceSaving at each capacity m, single-pass and merged over parts. Per asked item: error = (estimate - f)/N,
 * within when count - error <= f <= estimate and estimate - f <= N/m (an absent item's estimate is the minimum
 * count); an item with f > N/m that is absent is a violation. DuckDB's approx_top_k(value, k) is scored by
 * recall of the exact top k (error = 1 - recall), as it returns no counts.
 */
export async function evalHeavyHitters(ctx: EvalContext): Promise<EvalRow[]> {
  const engine = ctx.engine;
  const rows: EvalRow[] = [];
  for (const [querySet, sql] of Object.entries(HEAVY_HITTER_SETS)) {
    await engine.exec(`CREATE OR REPLACE TABLE h_items AS ${sql}`);
    const items = (await engine.query<{ key: string; part: string; value: string }>('SELECT key, part, value FROM h_items')) as Item<string>[];
    if (items.length === 0) continue;
    const exact = new Map((await engine.query<{ value: string; n: bigint }>('SELECT value, count(*) n FROM h_items GROUP BY value')).map((r) => [r.value, Number(r.n)]));
    const exactTop = [...exact.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP_K).map(([v]) => v);
    const total = items.length;
    ctx.progress(`${querySet}: ${exact.size} distinct items, N = ${total}`);
    for (const capacity of CAPACITIES) {
      const built = buildSketches(items, {
        make: () => new SpaceSaving({ capacity }),
        add: (s, v) => s.add(v),
        encode: (s) => s.encode(),
        decode: (b) => SpaceSaving.decode(b),
        merge: (a, b) => a.merge(b),
      });
      if (capacity === ctx.defaults.capacity) ctx.store('spacesaving', { capacity }, querySet, built.partBlobs, built.merged, (s) => s.encode());
      for (const merged of [false, true]) {
        const s = (merged ? built.merged : built.single).get('')!;
        const asked = new Set([...exactTop, ...s.top(TOP_K).map((c) => c.key)]);
        const outcomes: QueryOutcome[] = [];
        for (const item of asked) {
          const f = exact.get(item) ?? 0;
          const c = s.get(item);
          const est = c ? c.count : s.minCount;
          const lower = c ? c.count - c.error : 0;
          const within = lower <= f && f <= est && est - f <= total / capacity + 1e-9 && (c !== undefined || f <= total / capacity);
          outcomes.push({ query: `${item} (f=${f})`, error: (est - f) / total, within });
        }
        rows.push(
          summarize(
            {
              sketch: 'spacesaving', source: 'nitrace', query_set: querySet, params: { capacity }, merged, parts: merged ? built.parts : 1,
              sketches: 1, bytes: merged ? built.mergedBytes : built.singleBytes, part_bytes: merged ? built.partBytes : null,
              bound: 1 / capacity, allowed_violation_share: 0, build_ms: built.buildMs, merge_ms: merged ? built.mergeMs : null,
              same_as_single: null, metric: '(estimated - true count) / N, over the exact and the reported top 20',
            },
            outcomes,
          ),
        );
      }
    }
    const k = TOP_K;
    const [top, ms] = await timed(() => engine.query<{ v: string[] }>(`SELECT approx_top_k(value, ${k}) v FROM h_items`));
    const got = new Set(top[0]?.v ?? []);
    const recall = exactTop.filter((x) => got.has(x)).length / exactTop.length;
    rows.push(
      summarize(
        {
          sketch: 'approx_top_k', source: 'duckdb', query_set: querySet, params: { k }, merged: false, parts: 1, sketches: 1, bytes: null,
          part_bytes: null, bound: null, allowed_violation_share: null, build_ms: ms, merge_ms: null, same_as_single: null,
          metric: `1 - recall of the exact top ${k}`,
        },
        [{ query: `top ${k}`, error: 1 - recall, within: null }],
      ),
    );
    for (const ext of ctx.external) {
      await ext.load('nitrace_h_items', 'String', items.map((it) => ({ key: it.key, value: it.value })));
      const [t, ms2] = await timed(() => ext.query<{ v: string[] }>(`SELECT topK(${k})(value) AS v FROM nitrace_h_items`));
      await ext.drop('nitrace_h_items');
      const got2 = new Set(t[0]?.v ?? []);
      rows.push(
        summarize(
          {
            sketch: 'topK', source: ext.name, query_set: querySet, params: { k }, merged: false, parts: 1, sketches: 1, bytes: null,
            part_bytes: null, bound: null, allowed_violation_share: null, build_ms: ms2, merge_ms: null, same_as_single: null,
            metric: `1 - recall of the exact top ${k}`,
          },
          [{ query: `top ${k}`, error: 1 - exactTop.filter((x) => got2.has(x)).length / exactTop.length, within: null }],
        ),
      );
    }
    await engine.exec('DROP TABLE h_items');
  }
  return rows;
}
