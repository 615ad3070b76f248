import { join } from 'node:path';
import { defineCommand } from './command.js';
import { NitraceError } from '../core/errors.js';
import { runSketchEval } from '../sketches/eval/sketchEval.js';
import type { ExternalEngine } from '../sketches/eval/evalContext.js';
import { ClickHouseNode, identifier } from '../store/clickhouseNode.js';
import { RowBinaryWriter } from '../store/rowBinary.js';

interface SketchEvalArgs {
  analysisOut: string;
  out: string | undefined;
  json: boolean;
  quiet: boolean;
  clickhouse: string | undefined;
}

/** ClickHouse as an evaluation engine: the values go in as a Memory table (RowBinary), the built-ins answer. */
function clickhouseEngine(node: ClickHouseNode): ExternalEngine {
  return {
    name: 'clickhouse',
    async load(table, valueType, rows) {
      await node.command(`DROP TABLE IF EXISTS ${identifier(table)}`);
      await node.command(`CREATE TABLE ${identifier(table)} (key String, value ${valueType}) ENGINE = Memory`);
      async function* body(): AsyncIterable<Buffer> {
        const w = new RowBinaryWriter();
        for (const r of rows) {
          w.string(r.key);
          if (valueType === 'Float64') w.f64(Number(r.value));
          else w.string(String(r.value));
          if (w.length > 1 << 20) yield w.take();
        }
        yield w.take();
      }
      await node.insertRowBinary(identifier(table), ['key', 'value'], body(), false);
    },
    query: (sql) => node.query(sql),
    drop: (table) => node.command(`DROP TABLE IF EXISTS ${identifier(table)}`),
  };
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
      .option('clickhouse', { type: 'string', describe: "also compare ClickHouse's quantileTDigest, uniqHLL12 and topK (the server's HTTP URL; tables nitrace_*_items are made and dropped)" })
      .example('$0 sketch-eval out/', 'error-vs-memory table and plots in out/sketch-eval/')
      .example('$0 sketch-eval out/ --clickhouse http://127.0.0.1:8123', "with ClickHouse's built-ins beside DuckDB's")
      .example('$0 sketch-eval out/ --json | jq \'.[] | select(.within_bound == false)\'', 'rows whose sketch missed its bound') as never,
  run: async (args) => {
    const outDir = args.out ?? join(args.analysisOut, 'sketch-eval');
    let result;
    const node = args.clickhouse ? await ClickHouseNode.open(args.clickhouse) : null;
    try {
      result = await runSketchEval(args.analysisOut, { outDir, progress: !args.quiet, external: node ? [clickhouseEngine(node)] : [] });
    } catch (e) {
      if (e instanceof NitraceError) throw e;
      throw new NitraceError('sketch-eval', (e as Error).message);
    } finally {
      await node?.close();
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
