import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { renderChart } from '../../core/renderChart.js';
import { writeSketches, type StoredSketch } from '../sketchStore.js';
import { evalDistinct } from './distinctEval.js';
import { evalFrequencies } from './frequencyEval.js';
import { evalHeavyHitters } from './heavyHitterEval.js';
import { evalQuantiles } from './quantileEval.js';
import { evalShapes } from './shapeEval.js';
import { openEvalData } from './evalData.js';
import type { EvalContext, ExternalEngine } from './evalContext.js';
import type { EvalRow } from './evalRow.js';
import { errorVsMemoryChart } from './evalChart.js';
import { renderEvalReport, sketchVerdicts, type SketchVerdict } from './renderEvalReport.js';

export interface SketchEvalOptions {
  /** where sketch-eval.json, sketch-eval.md, the PNGs and sketches.parquet go */
  outDir: string;
  progress: boolean;
  /** engines whose built-ins are compared besides DuckDB's (ClickHouse via `--clickhouse URL`) */
  external?: ExternalEngine[];
}

export interface SketchEvalResult {
  dataset: string;
  created: string;
  rows: EvalRow[];
  verdicts: SketchVerdict[];
  /** engines whose built-ins were not evaluated, and why */
  skipped: string[];
  files: string[];
}

export const DEFAULTS: EvalContext['defaults'] = { alpha: 0.01, p: 12, capacity: 64, width: 1024, depth: 7, shapes: 32 };

const CLICKHOUSE_SKIPPED = 'clickhouse: quantileTDigest, uniqHLL12, topK not evaluated (give --clickhouse URL)';

/**
 * Evaluates every sketch on an analysis output: sweeps sizes, answers from single-pass and from merged per-part
 * sketches, compares with the engine's exact answers and DuckDB's built-ins, and writes the table, the plots and the
 * sketches themselves (default sizes: per part and merged) to outDir.
 */
export async function runSketchEval(analysisOut: string, opts: SketchEvalOptions): Promise<SketchEvalResult> {
  const engine = await openEvalData(analysisOut);
  const stored: StoredSketch[] = [];
  const say = (m: string) => opts.progress && process.stderr.write(`sketch-eval: ${m}\n`);
  const ctx: EvalContext = {
    engine,
    defaults: DEFAULTS,
    progress: say,
    external: opts.external ?? [],
    store(kind, params, querySet, partBlobs, merged, encode) {
      for (const p of partBlobs) stored.push({ kind, params, query_set: querySet, key: p.key, part: p.part, blob: p.blob });
      for (const [key, s] of merged) stored.push({ kind, params, query_set: querySet, key, part: 'all', blob: encode(s) });
    },
  };
  try {
    const rows: EvalRow[] = [];
    for (const step of [evalQuantiles, evalDistinct, evalHeavyHitters, evalFrequencies, evalShapes]) rows.push(...(await step(ctx)));
    mkdirSync(opts.outDir, { recursive: true });
    const files: string[] = [];
    const sketchFile = join(opts.outDir, 'sketches.parquet');
    await writeSketches(engine, sketchFile, stored);
    files.push(sketchFile);
    const result: SketchEvalResult = {
      dataset: basename(resolve(analysisOut)),
      created: new Date().toISOString(),
      rows,
      verdicts: sketchVerdicts(rows),
      skipped: (opts.external ?? []).some((e) => e.name === 'clickhouse') ? [] : [CLICKHOUSE_SKIPPED],
      files,
    };
    const charts: { querySet: string; png: string }[] = [];
    for (const querySet of [...new Set(rows.map((r) => r.query_set))]) {
      const png = join(opts.outDir, `sketch-eval-${slug(querySet)}.png`);
      await renderChart(errorVsMemoryChart(querySet, rows.filter((r) => r.query_set === querySet)), png);
      charts.push({ querySet, png: basename(png) });
      files.push(png);
    }
    const md = join(opts.outDir, 'sketch-eval.md');
    const json = join(opts.outDir, 'sketch-eval.json');
    files.push(md, json);
    writeAtomic(md, renderEvalReport(result, charts));
    writeAtomic(json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    engine.close();
  }
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}
