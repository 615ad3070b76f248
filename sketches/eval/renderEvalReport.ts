import type { EvalRow } from './evalRow.js';
import type { SketchEvalResult } from './sketchEval.js';

/** Per nitrace sketch: how many evaluated queries met their bound over every size and both variants. */
export interface SketchVerdict {
  sketch: string;
  queries: number;
  within: number;
  within_share: number;
  /** the issue's bar: >= 99 % of evaluated queries within the bound */
  passes: boolean;
}

export function sketchVerdicts(rows: readonly EvalRow[]): SketchVerdict[] {
  const by = new Map<string, { queries: number; within: number }>();
  for (const r of rows) {
    if (r.within_share === null) continue;
    const v = by.get(r.sketch) ?? { queries: 0, within: 0 };
    v.queries += r.queries;
    v.within += Math.round(r.within_share * r.queries);
    by.set(r.sketch, v);
  }
  return [...by.entries()].map(([sketch, v]) => ({ sketch, ...v, within_share: v.within / v.queries, passes: v.within / v.queries >= 0.99 }));
}

const fmt = (x: number | null, digits = 3) => (x === null ? '' : x === 0 ? '0' : Math.abs(x) >= 0.01 ? x.toFixed(digits) : x.toExponential(1));
const params = (p: Record<string, number>) => Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ');

/** The Markdown report: verdicts, then one table and one figure per query set. */
export function renderEvalReport(result: SketchEvalResult, charts: readonly { querySet: string; png: string }[]): string {
  const out: string[] = [];
  out.push(`# Sketch accuracy on ${result.dataset}`, '', `Written by \`nitrace sketch-eval\` at ${result.created}.`, '');
  out.push('Every answer is checked against the exact one computed by DuckDB. `error` is the largest normalised error over');
  out.push('the query set (see each table\'s metric), `bound` the theoretical one, `within` the share of queries that met it.');
  out.push('Merged rows answer from per-part sketches (node x process x time window) encoded, decoded and merged.', '');
  out.push('| sketch | queries | within bound | >= 99 % |', '|---|---:|---:|---|');
  for (const v of result.verdicts) out.push(`| ${v.sketch} | ${v.queries} | ${(100 * v.within_share).toFixed(2)} % | ${v.passes ? 'yes' : '**no**'} |`);
  out.push('');
  for (const s of result.skipped) out.push(`Not evaluated: ${s}.`);
  for (const querySet of [...new Set(result.rows.map((r) => r.query_set))]) {
    const rows = result.rows.filter((r) => r.query_set === querySet);
    out.push('', `## ${querySet}`, '', `Metric: ${rows[0]!.metric}.`, '');
    out.push('| sketch | source | params | merged (parts) | bytes | queries | max error | median error | bound | within | build ms | merge ms |');
    out.push('|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const within = r.within_share === null ? '' : `${(100 * r.within_share).toFixed(1)} %${r.within_bound ? '' : ' **violated**'}`;
      out.push(
        `| ${r.sketch} | ${r.source} | ${params(r.params)} | ${r.merged ? `yes (${r.parts})${r.same_as_single === true ? ' = single' : ''}` : 'no'} | ${r.bytes ?? ''} | ${r.queries} | ${fmt(r.error)} | ${fmt(r.error_median)} | ${fmt(r.bound)} | ${within} | ${r.build_ms.toFixed(1)} | ${r.merge_ms === null ? '' : r.merge_ms.toFixed(1)} |`,
      );
    }
    const violated = rows.filter((r) => r.violations.length > 0);
    if (violated.length > 0) {
      out.push('', 'Violations (first three per row):');
      for (const r of violated) out.push(`- ${r.sketch} ${params(r.params)}${r.merged ? ' merged' : ''}: ${r.violations.join('; ')}`);
    }
    const chart = charts.find((c) => c.querySet === querySet);
    if (chart) out.push('', `![${querySet}](${chart.png})`);
  }
  return `${out.join('\n')}\n`;
}
