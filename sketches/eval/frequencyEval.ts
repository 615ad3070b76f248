import { CountMin } from '../countMin.js';
import { buildSketches, type Item } from './buildSketches.js';
import { summarize, type EvalRow, type QueryOutcome } from './evalRow.js';
import type { EvalContext } from './evalContext.js';

export const WIDTHS = [16, 64, 256, 1024, 4096];
/** delta = e^-7 < 0.1 %: far below the 1 % of queries the evaluation allows to miss. */
export const DEPTH = 7;
const SEED = 1;

export const FREQUENCY_SETS: Record<string, string> = {
  // The pair the in-kernel sketch mode counts: which process talks to which remote endpoint.
  'calls per (service, remote endpoint)': `SELECT '' AS key, part, service || ' -> ' || coalesce(remote_addr, '?') || ':' || coalesce(remote_port::VARCHAR, '?') AS value
      FROM obs WHERE kind = 'client'`,
  'calls per endpoint (service, kind, operation)': `SELECT '' AS key, part, service || ' ' || kind || ' ' || operation AS value FROM obs`,
};

/**
 * Count-Min at each width (depth 7), single-pass and merged over parts, for every distinct item: error =
 * (estimate - f)/N, within when f <= estimate <= f + eps N (eps = e/width); up to delta of the queries may miss.
 */
export async function evalFrequencies(ctx: EvalContext): Promise<EvalRow[]> {
  const engine = ctx.engine;
  const rows: EvalRow[] = [];
  for (const [querySet, sql] of Object.entries(FREQUENCY_SETS)) {
    await engine.exec(`CREATE OR REPLACE TABLE f_items AS ${sql}`);
    const items = (await engine.query<{ key: string; part: string; value: string }>('SELECT key, part, value FROM f_items')) as Item<string>[];
    if (items.length === 0) continue;
    const exact = (await engine.query<{ value: string; n: bigint }>('SELECT value, count(*) n FROM f_items GROUP BY value')).map((r) => [r.value, Number(r.n)] as const);
    ctx.progress(`${querySet}: ${exact.length} distinct items, N = ${items.length}`);
    for (const width of WIDTHS) {
      const params = { width, depth: DEPTH, seed: SEED };
      const built = buildSketches(items, {
        make: () => new CountMin(params),
        add: (s, v) => s.add(v),
        encode: (s) => s.encode(),
        decode: (b) => CountMin.decode(b),
        merge: (a, b) => a.merge(b),
      });
      if (width === ctx.defaults.width) ctx.store('countmin', params, querySet, built.partBlobs, built.merged, (s) => s.encode());
      for (const merged of [false, true]) {
        const s = (merged ? built.merged : built.single).get('')!;
        const single = built.single.get('')!;
        let same = true;
        const outcomes: QueryOutcome[] = exact.map(([item, f]) => {
          const est = s.estimate(item);
          if (merged && est !== single.estimate(item)) same = false;
          return { query: `${item} (f=${f})`, error: (est - f) / s.total, within: est >= f && est - f <= s.eps * s.total };
        });
        rows.push(
          summarize(
            {
              sketch: 'countmin', source: 'nitrace', query_set: querySet, params, merged, parts: merged ? built.parts : 1, sketches: 1,
              bytes: merged ? built.mergedBytes : built.singleBytes, part_bytes: merged ? built.partBytes : null, bound: Math.E / width,
              allowed_violation_share: Math.exp(-DEPTH), build_ms: built.buildMs, merge_ms: merged ? built.mergeMs : null,
              same_as_single: merged ? same : null, metric: '(estimated - true count) / N, every distinct item',
            },
            outcomes,
          ),
        );
      }
    }
    await engine.exec('DROP TABLE f_items');
  }
  return rows;
}
