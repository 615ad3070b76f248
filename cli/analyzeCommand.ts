import { defineCommand } from './command.js';
import { analyzeCaptures } from '../analyze/analyze.js';
import { renderSummary } from '../analyze/renderSummary.js';
import { printTraces } from '../analyze/printTraces.js';
import { ENGINE_NAMES, parseSize } from '../analyze/engine/openEngine.js';
import { UsageError } from '../core/errors.js';

export const analyzeCommand = defineCommand({
  name: 'analyze',
  positionals: '<captureDirs..>',
  describe: 'rebuild request traces from capture directories (one per node) into Parquet, OTLP and Jaeger JSON',
  builder: (y) =>
    y
      .positional('captureDirs', { type: 'string', array: true, demandOption: true, describe: 'capture directories written by `nitrace capture --out DIR`, one per node' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory (spans.parquet, edges.parquet, otlp.json, jaeger.json, analysis.duckdb, summary.json)' })
      .option('engine', { type: 'string', default: 'duckdb', describe: `SQL engine that runs the analysis (${ENGINE_NAMES.join(', ')})` })
      .option('memory', { type: 'string', describe: 'memory budget of the analysis, e.g. 2GB (default: a quarter of RAM); the engine gets half of it and spills to --temp beyond that' })
      .option('temp', { type: 'string', describe: 'directory the engine spills to (default OUT/.tmp, removed afterwards)' })
      .option('workers', { type: 'number', default: 1, describe: 'parse worker threads; outputs are the same for any number (see docs/analyze.md)' })
      .option('print-traces', { type: 'number', default: 0, describe: 'also print the first N traces as trees' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or summary on stderr' })
      .example('$0 analyze cap-node1 cap-node2 --out analysis', 'two nodes captured at the same time')
      .example("duckdb analysis/analysis.duckdb \"SELECT evidence, count(*) FROM edges GROUP BY 1\"", 'query the result further'),
  run: async (args) => {
    let memoryBytes: number | undefined;
    if (args.memory !== undefined) {
      const size = parseSize(args.memory);
      if (size === null || size < 64 * 1024 ** 2) throw new UsageError('analyze', `--memory ${JSON.stringify(args.memory)}: give a size of at least 64MB, e.g. 2GB`);
      memoryBytes = size;
    }
    if (!Number.isInteger(args.workers) || args.workers < 1) throw new UsageError('analyze', `--workers ${args.workers}: give a whole number of at least 1`);
    if (!(ENGINE_NAMES as readonly string[]).includes(args.engine)) throw new UsageError('analyze', `--engine ${args.engine}: not one of ${ENGINE_NAMES.join(', ')}`);
    const summary = await analyzeCaptures({
      captureDirs: args.captureDirs as string[],
      out: args.out,
      engine: args.engine,
      memoryBytes,
      tempDir: args.temp,
      progress: !args.quiet,
      workers: args.workers,
    });
    if (!args.quiet) process.stderr.write(renderSummary(summary));
    if (args.printTraces > 0) process.stdout.write(await printTraces(summary.outputs.database!, args.printTraces));
    return 0;
  },
});
