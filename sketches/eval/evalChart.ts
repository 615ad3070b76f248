import type { ChartSpec } from '../../core/renderChart.js';
import type { EvalRow } from './evalRow.js';

/**
 * Error vs memory for one query set: one line per sketch (and per built-in with a known size), single-pass solid,
 * merged dashed, and the theoretical bound of nitrace's sketches as grey steps. Both axes are logarithmic; zero
 * errors are drawn at 1e-6 so they stay on the plot.
 */
export function errorVsMemoryChart(querySet: string, rows: readonly EvalRow[]): ChartSpec {
  const FLOOR = 1e-6;
  const points = rows
    .filter((r) => r.bytes !== null && r.bytes > 0)
    .map((r) => ({
      series: `${r.sketch}${r.source === 'nitrace' ? '' : ` (${r.source})`}`,
      variant: r.merged ? 'merged over parts' : 'single pass',
      bytes: r.bytes,
      error: Math.max(FLOOR, r.error),
      bound: r.bound === null ? null : Math.max(FLOOR, r.bound),
      params: JSON.stringify(r.params),
    }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `${querySet}: largest error vs memory`, subtitle: 'lines: observed max error; grey: theoretical bound' },
    width: 520,
    height: 300,
    data: { values: points },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'bytes', type: 'quantitative', scale: { type: 'log' }, title: 'sketch bytes (all groups)' },
          y: { field: 'error', type: 'quantitative', scale: { type: 'log' }, title: 'max normalised error' },
          color: { field: 'series', type: 'nominal', title: null },
          strokeDash: {
            field: 'variant',
            type: 'nominal',
            title: null,
            scale: { domain: ['single pass', 'merged over parts'], range: [[1, 0], [6, 3]] },
            legend: { symbolType: 'stroke' },
          },
          detail: { field: 'variant' },
        },
      },
      {
        transform: [{ filter: "datum.bound !== null && datum.variant === 'single pass'" }],
        mark: { type: 'line', color: '#999', strokeDash: [2, 2], interpolate: 'step-after' },
        encoding: {
          x: { field: 'bytes', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'bound', type: 'quantitative', scale: { type: 'log' } },
          detail: { field: 'series' },
        },
      },
    ],
  } as ChartSpec;
}
