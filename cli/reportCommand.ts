import { defineCommand } from './command.js';
import { writeReport } from '../reports/writeReport.js';

interface ReportArgs {
  analysisOut: string;
  truth?: string;
  out?: string;
  results?: string;
}

export const reportCommand = defineCommand<ReportArgs>({
  name: 'report',
  positionals: '<analysisOut>',
  describe: 'a Markdown report with figures (PNG) of an analysis: dependency map, waterfalls, latencies, accuracy, losses, overhead',
  builder: (y) =>
    y
      .positional('analysisOut', { type: 'string', demandOption: true, describe: 'output dir of nitrace analyze (spans.parquet, edges.parquet, summary.json)' })
      .option('truth', { type: 'string', describe: 'dataset dir holding truth/: adds accuracy tables (the numbers of nitrace score --json)' })
      .option('out', { type: 'string', describe: 'report dir (replaced): report.md, report.json, figures/ [default: ANALYSIS_OUT/report]' })
      .option('results', { type: 'string', describe: 'bench result files (capture-*.json, sketch-eval-*.json) [default: the checkout\'s bench/results]' })
      .example('$0 report out/ --truth datasets/samples/tempest-compute-servers', 'writes out/report/report.md') as never,
  run: async (args) => {
    const { markdown } = await writeReport({
      out: args.analysisOut,
      truth: args.truth,
      reportDir: args.out,
      resultsDir: args.results,
      log: (l) => process.stderr.write(`nitrace report: ${l}\n`),
    });
    process.stdout.write(`${markdown}\n`);
    return 0;
  },
});
