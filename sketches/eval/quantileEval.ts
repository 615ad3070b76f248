import type { Engine } from '../../analyze/engine/engine.js';
import { LatencySketch } from '../ddsketch.js';
import { buildSketches, timed, type Item } from './buildSketches.js';
import { relativeError, summarize, type EvalRow, type QueryOutcome } from './evalRow.js';
import type { EvalContext } from './evalContext.js';

/** Quantiles asked of every group. */
export const QUANTILES = [0.5, 0.9, 0.99];
/** Groups with fewer values are not evaluated (their 0.99-quantile is the maximum). */
export const MIN_GROUP = 20;
export const ALPHAS = [0.1, 0.05, 0.02, 0.01, 0.005, 0.001];
export const RESERVOIR_SIZES = [16, 64, 256, 1024];

/** The two latency query sets, as SQL over `obs`/`edges` returning (key, part, value). */
export const QUANTILE_SETS: Record<string, string> = {
  'latency by (service, kind, operation)': `SELECT service || ' ' || kind || ' ' || operation AS key, part, latency_ns AS value
      FROM obs WHERE status IS NOT NULL AND latency_ns >= 0`,
  'latency by edge (parent -> child)': `SELECT p.service || ' ' || p.kind || ' ' || p.operation || ' -> ' || c.service || ' ' || c.kind || ' ' || c.operation AS key,
      c.part AS part, c.latency_ns AS value
      FROM edges e JOIN obs p ON p.span_id = e.parent_span_id JOIN obs c ON c.span_id = e.child_span_id
      WHERE c.status IS NOT NULL AND c.latency_ns >= 0`,
};

/**
 * DDSketch per group at each alpha, single-pass and merged over parts, against the exact quantile (the element of
 * rank floor(q(n-1)), computed by the engine with row_number over DOUBLE ranks, as DDSketch ranks), and DuckDB's
 * approx_quantile (t-digest) and reservoir_quantile at several sample sizes on the same groups.
 */
export async function evalQuantiles(ctx: EvalContext): Promise<EvalRow[]> {
  const rows: EvalRow[] = [];
  for (const [querySet, sql] of Object.entries(QUANTILE_SETS)) {
    const engine = ctx.engine;
    await engine.exec(`CREATE OR REPLACE TABLE q_items AS
        WITH raw AS (${sql}) SELECT * FROM raw WHERE key IN (SELECT key FROM raw GROUP BY key HAVING count(*) >= ${MIN_GROUP})`);
    const items = (await engine.query<{ key: string; part: string; value: number }>('SELECT key, part, value FROM q_items')) as Item<number>[];
    if (items.length === 0) continue;
    const exact = await exactQuantiles(engine);
    ctx.progress(`${querySet}: ${exact.size} groups, ${items.length} values`);

    for (const alpha of ALPHAS) {
      const built = buildSketches(items, {
        make: () => new LatencySketch({ alpha }),
        add: (s, v) => s.add(v),
        encode: (s) => s.encode(),
        decode: (b) => LatencySketch.decode(b),
        merge: (a, b) => a.merge(b),
      });
      if (alpha === ctx.defaults.alpha) ctx.store('ddsketch', { alpha }, querySet, built.partBlobs, built.merged, (s) => s.encode());
      for (const merged of [false, true]) {
        const sketches = merged ? built.merged : built.single;
        const outcomes: QueryOutcome[] = [];
        let same = true;
        for (const [key, qs] of exact) {
          const s = sketches.get(key)!;
          for (const q of QUANTILES) {
            const x = qs.get(q)!;
            const est = s.quantile(q);
            if (merged && est !== built.single.get(key)!.quantile(q)) same = false;
            outcomes.push({ query: `${key} q${q}`, error: relativeError(est, x), within: Math.abs(est - x) <= alpha * x * (1 + 1e-9) + 1e-9 });
          }
        }
        rows.push(
          summarize(
            {
              sketch: 'ddsketch', source: 'nitrace', query_set: querySet, params: { alpha }, merged, parts: merged ? built.parts : 1,
              sketches: sketches.size, bytes: merged ? built.mergedBytes : built.singleBytes, part_bytes: merged ? built.partBytes : null,
              bound: alpha, allowed_violation_share: 0, build_ms: built.buildMs, merge_ms: merged ? built.mergeMs : null,
              same_as_single: merged ? same : null, metric: 'relative error of the quantile value',
            },
            outcomes,
          ),
        );
      }
    }

    const qList = `[${QUANTILES.join(', ')}]::FLOAT[]`;
    const [tdigest, tdMs] = await timed(() => engine.query<{ key: string; v: number[] }>(`SELECT key, approx_quantile(value, ${qList}) v FROM q_items GROUP BY key`));
    rows.push(builtinRow('approx_quantile', 'duckdb', querySet, {}, null, tdMs, exact, tdigest));
    for (const size of RESERVOIR_SIZES) {
      const [res, ms] = await timed(() =>
        engine.query<{ key: string; v: number[]; n: bigint }>(`SELECT key, reservoir_quantile(value, ${qList}, ${size}) v, count(*) n FROM q_items GROUP BY key`),
      );
      const bytes = res.reduce((a, r) => a + 8 * Math.min(size, Number(r.n)), 0);
      rows.push(builtinRow('reservoir_quantile', 'duckdb', querySet, { sample_size: size }, bytes, ms, exact, res));
    }
    for (const ext of ctx.external) {
      await ext.load('nitrace_q_items', 'Float64', items);
      const [td, ms] = await timed(() =>
        ext.query<{ key: string; v: number[] }>(`SELECT key, [${QUANTILES.map((q) => `quantileTDigest(${q})(value)`).join(', ')}] AS v FROM nitrace_q_items GROUP BY key`),
      );
      await ext.drop('nitrace_q_items');
      rows.push(builtinRow('quantileTDigest', ext.name, querySet, {}, null, ms, exact, td));
    }
    await engine.exec('DROP TABLE q_items');
  }
  return rows;
}

/** key -> q -> exact quantile value, from q_items. */
async function exactQuantiles(engine: Engine): Promise<Map<string, Map<number, number>>> {
  const rows = await engine.query<{ key: string; q: number; value: number }>(`
    SELECT key, q, value FROM (
      SELECT key, value, row_number() OVER (PARTITION BY key ORDER BY value) - 1 AS rk, count(*) OVER (PARTITION BY key) AS n FROM q_items
    ) JOIN (SELECT unnest([${QUANTILES.map((q) => `${q}::DOUBLE`).join(', ')}]) AS q) ON rk = floor(q * (n - 1))`);
  const out = new Map<string, Map<number, number>>();
  for (const r of rows) (out.get(r.key) ?? out.set(r.key, new Map()).get(r.key)!).set(r.q, r.value);
  return out;
}

function builtinRow(
  sketch: string,
  source: string,
  querySet: string,
  params: Record<string, number>,
  bytes: number | null,
  ms: number,
  exact: Map<string, Map<number, number>>,
  answers: { key: string; v: number[] }[],
): EvalRow {
  const outcomes: QueryOutcome[] = [];
  for (const a of answers) {
    const qs = exact.get(a.key)!;
    QUANTILES.forEach((q, i) => outcomes.push({ query: `${a.key} q${q}`, error: relativeError(Number(a.v[i]), qs.get(q)!), within: null }));
  }
  return summarize(
    {
      sketch, source, query_set: querySet, params, merged: false, parts: 1, sketches: answers.length, bytes, part_bytes: null,
      bound: null, allowed_violation_share: null, build_ms: ms, merge_ms: null, same_as_single: null, metric: 'relative error of the quantile value',
    },
    outcomes,
  );
}
