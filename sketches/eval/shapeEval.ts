import { canonicalShape, type ShapeSpan } from '../canonicalShape.js';
import { TraceShapeSketch } from '../traceShapes.js';
import { buildSketches, type Item } from './buildSketches.js';
import { relativeError, summarize, type EvalRow, type QueryOutcome } from './evalRow.js';
import type { EvalContext } from './evalContext.js';
import { MIN_GROUP, QUANTILES } from './quantileEval.js';
import { TOP_K } from './heavyHitterEval.js';

export const SHAPE_CAPACITIES = [4, 8, 16, 32, 64, 128];
const COUNTS = 'trace shapes: counts';
const LATENCY = 'trace shapes: latency quantiles per shape';

interface ShapedTrace {
  shape: string;
  description: string;
  latency: number;
}

/**
 * The structural sketch: every trace's canonical shape is computed once (canonicalShape.ts) and stored in the
 * engine (table trace_shapes), which gives the exact counts and latency distributions per shape. The sketch at
 * each capacity (alpha = the default) is checked on counts (as SpaceSaving) and on the latency quantiles of its
 * top 10 shapes with >= 20 traces, against the rank-slack + alpha bound of traceShapes.ts.
 */
export async function evalShapes(ctx: EvalContext): Promise<EvalRow[]> {
  const engine = ctx.engine;
  const spans = await engine.query<{ trace_id: string; span_id: string; parent_span_id: string | null; label: string; s: number; e: number; part: string }>(`
    WITH t0 AS (SELECT min(start_ns) t0 FROM obs)
    SELECT trace_id, span_id, parent_span_id, kind || ' ' || service || ' ' || operation AS label,
      (start_ns - t0)::DOUBLE s, (coalesce(end_ns, start_ns) - t0)::DOUBLE e, part
    FROM obs, t0 WHERE trace_id IS NOT NULL ORDER BY trace_id, start_ns, span_id`);
  const items: Item<ShapedTrace>[] = [];
  const table: unknown[][] = [];
  for (let i = 0; i < spans.length; ) {
    let j = i;
    while (j < spans.length && spans[j]!.trace_id === spans[i]!.trace_id) j++;
    const group = spans.slice(i, j);
    const shape = canonicalShape(group.map((r): ShapeSpan => ({ span_id: r.span_id, parent_span_id: r.parent_span_id, label: r.label, start_ns: r.s, end_ns: r.e })));
    // A trace is sketched where its first span was seen (its root's node, process and window).
    items.push({ key: '', part: group[0]!.part, value: { shape: shape.shape, description: shape.description, latency: shape.latencyNs } });
    table.push([group[0]!.trace_id, shape.shape, shape.latencyNs]);
    i = j;
  }
  if (items.length === 0) return [];
  await engine.exec('CREATE OR REPLACE TABLE trace_shapes (trace_id VARCHAR, shape VARCHAR, latency_ns DOUBLE)');
  await engine.insertRows('trace_shapes', table);
  const exactCounts = new Map(
    (await engine.query<{ shape: string; n: bigint }>('SELECT shape, count(*) n FROM trace_shapes GROUP BY shape')).map((r) => [r.shape, Number(r.n)]),
  );
  const exactTop = [...exactCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP_K).map(([s]) => s);
  const sortedLatencies = new Map(
    (await engine.query<{ shape: string; v: number[] }>(`SELECT shape, list(latency_ns ORDER BY latency_ns) v FROM trace_shapes GROUP BY shape HAVING count(*) >= ${MIN_GROUP}`)).map((r) => [r.shape, r.v]),
  );
  const total = items.length;
  ctx.progress(`trace shapes: ${total} traces, ${exactCounts.size} distinct shapes`);
  const alpha = ctx.defaults.alpha;
  const rows: EvalRow[] = [];
  for (const capacity of SHAPE_CAPACITIES) {
    const built = buildSketches(items, {
      make: () => new TraceShapeSketch({ capacity, alpha }),
      add: (s, t) => s.add(t.shape, t.description, t.latency),
      encode: (s) => s.encode(),
      decode: (b) => TraceShapeSketch.decode(b),
      merge: (a, b) => a.merge(b),
    });
    if (capacity === ctx.defaults.shapes) ctx.store('traceshapes', { capacity, alpha }, 'trace shapes', built.partBlobs, built.merged, (s) => s.encode());
    for (const merged of [false, true]) {
      const s = (merged ? built.merged : built.single).get('')!;
      const counts: QueryOutcome[] = [];
      for (const shape of new Set([...exactTop, ...s.top(TOP_K).map((e) => e.shape)])) {
        const f = exactCounts.get(shape) ?? 0;
        const e = s.get(shape);
        const est = e ? e.count : s.counts.minCount;
        const lower = e ? e.count - e.error : 0;
        const within = lower <= f && f <= est && est - f <= total / capacity + 1e-9 && (e !== undefined || f <= total / capacity);
        counts.push({ query: `${shape} (f=${f})`, error: (est - f) / total, within });
      }
      const quantiles: QueryOutcome[] = [];
      for (const e of s.top(10)) {
        const values = sortedLatencies.get(e.shape);
        if (!values) continue;
        const f = values.length;
        for (const q of QUANTILES) {
          const rank = Math.floor(q * (f - 1));
          const x = values[rank]!;
          const lo = values[Math.max(0, Math.floor(q * (f - 1) - e.error))]!;
          const hi = values[Math.min(f - 1, rank + e.error)]!;
          const got = e.latency.quantile(q);
          const within = got >= (1 - alpha) * lo * (1 - 1e-9) - 1e-9 && got <= (1 + alpha) * hi * (1 + 1e-9) + 1e-9;
          quantiles.push({ query: `${e.description} q${q} (error ${e.error} of ${f})`, error: relativeError(got, x), within });
        }
      }
      const base = {
        sketch: 'traceshapes', source: 'nitrace', params: { capacity, alpha }, merged, parts: merged ? built.parts : 1, sketches: 1,
        bytes: merged ? built.mergedBytes : built.singleBytes, part_bytes: merged ? built.partBytes : null, allowed_violation_share: 0,
        build_ms: built.buildMs, merge_ms: merged ? built.mergeMs : null, same_as_single: null,
      };
      rows.push(summarize({ ...base, query_set: COUNTS, bound: 1 / capacity, metric: '(estimated - true count) / N, over the exact and the reported top 20' }, counts));
      if (quantiles.length > 0) {
        rows.push(
          summarize(
            { ...base, query_set: LATENCY, bound: alpha, metric: 'relative error vs the exact quantile; within: the rank-slack + alpha bound (traceShapes.ts)' },
            quantiles,
          ),
        );
      }
    }
  }
  await engine.exec('DROP TABLE trace_shapes');
  return rows;
}
