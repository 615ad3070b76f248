import { join } from 'node:path';
import { defineCommand } from './command.js';
import { NitraceError } from '../core/errors.js';
import { runSketchEval } from '../sketches/eval/sketchEval.js';

interface SketchEvalArgs {
  analysisOut: string;
  out: string | undefined;
  json: boolean;
  quiet: boolean;
}

export const sketchEvalCommand = defineCommand<SketchEvalArgs>({
  name: 'sketch-eval',
  positionals: '<analysis-out>',
  describe: 'sketch an analysis output (per node, process and time window, then merged) and measure every sketch against exact answers and engine built-ins',
  builder: (y) =>
    y
      .positional('analysis-out', { type: 'string', demandOption: true, describe: 'analysis output dir (spans.parquet, edges.parquet)' })
      .option('out', { type: 'string', describe: 'where the table, plots, JSON and sketches.parquet go (default ANALYSIS_OUT/sketch-eval)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the rows as a JSON list instead of the verdicts' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' })
      .example('$0 sketch-eval out/', 'error-vs-memory table and plots in out/sketch-eval/')
      .example('$0 sketch-eval out/ --json | jq \'.[] | select(.within_bound == false)\'', 'rows whose sketch missed its bound') as never,
  run: async (args) => {
    const outDir = args.out ?? join(args.analysisOut, 'sketch-eval');
    let result;
    try {
      result = await runSketchEval(args.analysisOut, { outDir, progress: !args.quiet });
    } catch (e) {
      if (e instanceof NitraceError) throw e;
      throw new NitraceError('sketch-eval', (e as Error).message);
    }
    if (args.json) console.log(JSON.stringify(result.rows, null, 2));
    else {
      for (const v of result.verdicts) {
        console.log(`${v.sketch.padEnd(12)} ${String(v.within).padStart(6)}/${String(v.queries).padEnd(6)} queries within bound (${(100 * v.within_share).toFixed(2)} %)${v.passes ? '' : '  BELOW 99 %'}`);
      }
      for (const s of result.skipped) console.log(`not evaluated: ${s}`);
      console.log(`wrote ${result.files.join(', ')}`);
    }
    return result.verdicts.every((v) => v.passes) ? 0 : 1;
  },
});
