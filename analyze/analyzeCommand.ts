import { defineCommand } from '../cli/command.js';
import { analyzeCaptures, type AnalyzeSummary } from './analyze.js';
import { printTraces } from './printTraces.js';

export const analyzeCommand = defineCommand({
  name: 'analyze',
  positionals: '<captureDirs..>',
  describe: 'rebuild request traces from capture directories (one per node) into Parquet, OTLP and Jaeger JSON',
  builder: (y) =>
    y
      .positional('captureDirs', { type: 'string', array: true, demandOption: true, describe: 'capture directories written by `nitrace capture --out DIR`, one per node' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory (spans.parquet, edges.parquet, otlp.json, jaeger.json, analysis.duckdb, summary.json)' })
      .option('engine', { choices: ['duckdb'] as const, default: 'duckdb' as const, describe: 'SQL engine for the joins' })
      .option('print-traces', { type: 'number', default: 0, describe: 'also print the first N traces as trees' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or summary on stderr' })
      .example('$0 analyze cap-node1 cap-node2 --out analysis', 'two nodes captured at the same time')
      .example("duckdb analysis/analysis.duckdb \"SELECT evidence, count(*) FROM edges GROUP BY 1\"", 'query the result further'),
  run: async (args) => {
    const summary = await analyzeCaptures({
      captureDirs: args.captureDirs as string[],
      out: args.out,
      engine: args.engine,
      progress: !args.quiet,
    });
    if (!args.quiet) process.stderr.write(renderSummary(summary));
    if (args.printTraces > 0) process.stdout.write(await printTraces(summary.outputs.database!, args.printTraces));
    return 0;
  },
});

/** The end-of-run summary: what was found, what had to be skipped, where the outputs are. */
export function renderSummary(s: AnalyzeSummary): string {
  const lines = [
    `analyze: ${s.spans} spans (${s.client_spans} client, ${s.server_spans} server), ${s.edges} edges, ${s.traces} traces in ${s.timings_ms.total} ms`,
    `  edges by evidence: ${Object.entries(s.edges_by_evidence).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  clocks: ${s.clocks.map((c) => `${c.node} ${c.method}${c.method === 'estimated' ? ` ${c.offset_ns} ns ±${BigInt(c.uncertainty_ns ?? 0) / 2n} (${c.pairs} calls)` : ''}`).join('; ')}`,
  ];
  for (const w of s.warnings) lines.push(`  warning [${w.code}] ${w.message}${w.count > 1 ? ` (${w.count})` : ''}`);
  lines.push(`  outputs: ${s.outputs.spans}, ${s.outputs.edges}, ${s.outputs.otlp}, ${s.outputs.jaeger}, ${s.outputs.database}`);
  return lines.join('\n') + '\n';
}
