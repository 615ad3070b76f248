/**
 * vega-lite specs for the report's figures (rendered by core/renderChart.ts). Each takes the small, already
 * aggregated rows the report holds and inlines them: a figure is a pure function of report.json.
 */
import type { ChartSpec } from '../core/renderChart.js';
import type { Dependency, Operation, WaterfallSpan } from './analysisQueries.js';

const fmtMs = (x: number | null): string => (x === null ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Service dependency map: services as labelled nodes in columns by call depth (callers left of their callees
 * where the graph allows), one arrow per caller -> callee with its call count and median latency.
 */
export function dependencyMapSpec(deps: readonly Dependency[], title: string): ChartSpec {
  const nodes = [...new Set(deps.flatMap((d) => [d.caller, d.callee]))].sort();
  const depth = layers(nodes, deps.filter((d) => d.caller !== d.callee).map((d) => [d.caller, d.callee] as const));
  const colW = 230;
  const rowH = 56;
  const columns = new Map<number, string[]>();
  for (const n of nodes) {
    const d = depth.get(n)!;
    if (!columns.has(d)) columns.set(d, []);
    columns.get(d)!.push(n);
  }
  const pos = new Map<string, { x: number; y: number }>();
  // Column by column, each service placed near the mean row of its callers (fewer crossing arrows).
  for (const d of [...columns.keys()].sort((a, b) => a - b)) {
    const col = columns.get(d)!;
    const key = (n: string) => {
      const ys = deps.filter((x) => x.callee === n && pos.has(x.caller)).map((x) => pos.get(x.caller)!.y);
      return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : 0;
    };
    col.sort((a, b) => key(a) - key(b) || (a < b ? -1 : 1)).forEach((n, i) => pos.set(n, { x: 90 + d * colW, y: 30 + i * rowH }));
  }
  const width = 90 + Math.max(...columns.keys()) * colW + 150;
  const height = 30 + Math.max(...[...columns.values()].map((c) => c.length)) * rowH;
  const maxCalls = Math.max(...deps.map((d) => d.calls), 1);
  const edges = deps.map((d) => {
    const a = pos.get(d.caller)!;
    const b = pos.get(d.callee)!;
    const self = d.caller === d.callee;
    const bx = self ? b.x + 40 : b.x;
    const by = self ? b.y + 20 : b.y;
    const angle = (Math.atan2(by - a.y, bx - a.x) * 180) / Math.PI;
    return {
      x: a.x, y: a.y, x2: bx, y2: by,
      // arrow head 80 % along, label 55 % along (towards the callee)
      ax: a.x + 0.8 * (bx - a.x), ay: a.y + 0.8 * (by - a.y), angle: angle + 90,
      lx: a.x + 0.55 * (bx - a.x), ly: a.y + 0.55 * (by - a.y) - 6,
      width: 1 + 5 * Math.sqrt(d.calls / maxCalls),
      label: `${d.calls}× ${fmtMs(d.p50_ms)} ms`,
    };
  });
  const px = { scale: null } as const;
  return {
    title,
    width,
    height,
    layer: [
      {
        data: { values: edges },
        mark: { type: 'rule', color: '#9aa7b8', opacity: 0.8 },
        encoding: { x: { field: 'x', type: 'quantitative', ...px }, y: { field: 'y', type: 'quantitative', ...px }, x2: { field: 'x2' }, y2: { field: 'y2' }, strokeWidth: { field: 'width', type: 'quantitative', scale: null } },
      },
      {
        data: { values: edges },
        mark: { type: 'point', shape: 'triangle-up', filled: true, color: '#51637a', size: 70 },
        encoding: { x: { field: 'ax', type: 'quantitative', ...px }, y: { field: 'ay', type: 'quantitative', ...px }, angle: { field: 'angle', type: 'quantitative', scale: null } },
      },
      {
        data: { values: edges },
        mark: { type: 'text', fontSize: 9, color: '#33414f' },
        encoding: { x: { field: 'lx', type: 'quantitative', ...px }, y: { field: 'ly', type: 'quantitative', ...px }, text: { field: 'label' } },
      },
      {
        data: { values: nodes.map((n) => ({ name: short(n, 26), ...pos.get(n)! })) },
        mark: { type: 'circle', size: 260, color: '#4c78a8', opacity: 1 },
        encoding: { x: { field: 'x', type: 'quantitative', ...px }, y: { field: 'y', type: 'quantitative', ...px } },
      },
      {
        data: { values: nodes.map((n) => ({ name: short(n, 26), ...pos.get(n)! })) },
        mark: { type: 'text', dy: -14, fontSize: 11, fontWeight: 'bold' },
        encoding: { x: { field: 'x', type: 'quantitative', ...px }, y: { field: 'y', type: 'quantitative', ...px }, text: { field: 'name' } },
      },
    ],
    config: { axis: { disable: true } },
  } as ChartSpec;
}

/**
 * Column of each node: the longest chain of calls leading to it, after dropping the edges that close a cycle
 * (found by depth-first search from the nodes in name order), so every caller sits left of its callees.
 */
function layers(nodes: readonly string[], edges: readonly (readonly [string, string])[]): Map<string, number> {
  const out = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) out.get(a)!.push(b);
  const state = new Map<string, 1 | 2>();
  const dag: [string, string][] = [];
  const visit = (n: string) => {
    state.set(n, 1);
    for (const m of out.get(n)!) {
      if (state.get(m) === 1) continue; // back edge: closes a cycle
      dag.push([n, m]);
      if (!state.has(m)) visit(m);
    }
    state.set(n, 2);
  };
  const hasCaller = new Set(edges.map(([, b]) => b));
  for (const n of [...nodes.filter((x) => !hasCaller.has(x)), ...nodes]) if (!state.has(n)) visit(n);
  const depth = new Map(nodes.map((n) => [n, 0]));
  for (let round = 0; round < nodes.length; round++) {
    let changed = false;
    for (const [a, b] of dag) {
      if (depth.get(b)! < depth.get(a)! + 1) {
        depth.set(b, depth.get(a)! + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return depth;
}

/** method and path without repeating the method (SQL heads start with their verb) */
function operationLabel(method: string | null, path: string | null): string {
  if (!path) return method ?? '';
  return method && !path.toUpperCase().startsWith(method.toUpperCase()) ? `${method} ${path}` : path;
}

/** Waterfall of one trace: one bar per span in depth-first order, indented label (→ client call, • server side), coloured by service. */
export function waterfallSpec(rows: readonly { span: WaterfallSpan; depth: number }[], title: string): ChartSpec {
  const values = rows.map(({ span: s, depth }, i) => ({
    row: i,
    label: short(`${'  '.repeat(Math.min(depth, 8))}${s.kind === 'client' ? '→' : '•'} ${s.service} ${operationLabel(s.method, s.path)}`, 54),
    service: s.service,
    start: s.start_ms,
    end: Math.max(s.end_ms, s.start_ms + 0.05),
    ms: fmtMs(s.end_ms - s.start_ms),
  }));
  return {
    title,
    width: 560,
    height: Math.max(60, 14 * values.length),
    data: { values },
    layer: [
      {
        mark: { type: 'bar', height: 10 },
        encoding: {
          y: { field: 'row', type: 'ordinal', axis: { title: null, labelExpr: 'datum.label', labels: false, ticks: false } },
          x: { field: 'start', type: 'quantitative', title: 'ms since the trace began' },
          x2: { field: 'end' },
          color: { field: 'service', type: 'nominal', legend: { title: 'service', orient: 'bottom', columns: 4 } },
        },
      },
      {
        mark: { type: 'text', align: 'left', fontSize: 9, font: 'DejaVu Sans Mono' },
        encoding: { y: { field: 'row', type: 'ordinal' }, x: { value: -325 }, text: { field: 'label' } },
      },
    ],
    padding: { left: 330, top: 5, right: 5, bottom: 5 },
  } as ChartSpec;
}

/** Latency per operation as box plots from SQL quantiles (p5-p95 whiskers, p25-p75 box, median tick). */
export function latencySpec(ops: readonly Operation[], title: string): ChartSpec {
  const values = ops.map((o) => ({ ...o, name: short(`${o.service}: ${o.operation}`, 60) }));
  const y = { field: 'name', type: 'nominal', sort: null, title: null, axis: { labelLimit: 420 } } as const;
  const top = Math.max(1, ...ops.map((o) => o.p95_ms));
  const ticks = [0, 0.01, 0.1, 1, 10, 100, 1000, 10000, 100000].filter((t) => t <= top * 1.5);
  const x = (f: string, t?: string) =>
    ({ field: f, type: 'quantitative', scale: { type: 'symlog', constant: 0.01 }, ...(t ? { title: t, axis: { values: ticks } } : {}) }) as const;
  return {
    title,
    width: 420,
    height: { step: 18 },
    data: { values },
    layer: [
      { mark: { type: 'rule', color: '#777' }, encoding: { y, x: x('p05_ms', 'latency, ms (symlog scale): whiskers p5-p95, box p25-p75, tick median'), x2: { field: 'p95_ms' } } },
      { mark: { type: 'bar', size: 11, color: '#9ecae9' }, encoding: { y, x: x('p25_ms'), x2: { field: 'p75_ms' } } },
      { mark: { type: 'tick', color: '#d62728', thickness: 2, size: 12 }, encoding: { y, x: x('p50_ms') } },
      { mark: { type: 'text', align: 'left', dx: 4, fontSize: 9 }, encoding: { y, x: x('p95_ms'), text: { field: 'count', type: 'quantitative', format: ',' } } },
    ],
  } as ChartSpec;
}

/** Grouped bars: one group per category, one bar per series (e.g. F1 per method and edge kind). */
export function groupedBarsSpec(
  rows: readonly { category: string; series: string; value: number }[],
  opts: { title: string; valueTitle: string; percent?: boolean; seriesTitle?: string },
): ChartSpec {
  return {
    title: opts.title,
    data: { values: rows as unknown as Record<string, unknown>[] },
    mark: 'bar',
    width: { step: 14 },
    height: 220,
    encoding: {
      column: { field: 'category', type: 'nominal', title: null, sort: null, header: { labelOrient: 'bottom', labelAngle: -25, labelAlign: 'right', labelBaseline: 'top', labelLimit: 260 } },
      x: { field: 'series', type: 'nominal', axis: null, sort: null },
      y: { field: 'value', type: 'quantitative', title: opts.valueTitle, ...(opts.percent ? { axis: { format: '.0%' }, scale: { domain: [0, 1] } } : {}) },
      color: { field: 'series', type: 'nominal', title: opts.seriesTitle ?? null, sort: null },
    },
  } as ChartSpec;
}

/** Sketch error against memory: one line per sketch (and source), log-scaled memory. */
export function errorVsMemorySpec(rows: readonly { sketch: string; bytes: number; error: number }[], title: string): ChartSpec {
  return {
    title,
    width: 420,
    height: 260,
    data: { values: rows as unknown as Record<string, unknown>[] },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'bytes', type: 'quantitative', scale: { type: 'log' }, title: 'memory, bytes (log)' },
      y: { field: 'error', type: 'quantitative', title: 'max normalised error' },
      color: { field: 'sketch', type: 'nominal' },
    },
  } as ChartSpec;
}
