import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from './command.js';
import { packageRoot } from '../core/version.js';
import { analyzeCaptures } from '../analyze/analyze.js';
import { renderSummary } from '../analyze/renderSummary.js';
import { runCapturedDemo } from '../workloads/testapp/demo.js';
import { renderScore } from '../datasets/score/renderScore.js';
import { writeReport } from '../reports/writeReport.js';

interface DemoArgs {
  out: string;
  sample: string;
  live: boolean;
}

const SAMPLES = join(packageRoot, 'datasets', 'samples');

/** Shipped sample datasets that hold a capture and ground truth. */
function shippedSamples(): string[] {
  if (!existsSync(SAMPLES)) return [];
  return readdirSync(SAMPLES)
    .map((d) => join(SAMPLES, d))
    .filter((d) => existsSync(join(d, 'capture', 'manifest.json')) && existsSync(join(d, 'truth', 'spans.parquet')))
    .sort();
}

export const demoCommand = defineCommand<DemoArgs>({
  name: 'demo',
  describe: 'the main job end to end: analyze and score the shipped OpenStack sample; as root, also a live capture',
  builder: (y) =>
    y
      .option('out', { type: 'string', default: 'demo-out', describe: 'where results go (replaced)' })
      .option('sample', { type: 'string', default: '', describe: 'dataset to analyze and score (default: the shipped samples)' })
      .option('live', { type: 'boolean', default: process.getuid?.() === 0, describe: 'also capture the built-in multi-service app live and analyze it (root)' })
      .example('$0 demo', 'what `make demo` runs') as never,
  run: async (args) => {
    const samples = args.sample ? [args.sample] : shippedSamples();
    const reports: string[] = [];
    for (const dataset of samples) {
      const name = dataset.split('/').filter(Boolean).pop()!;
      const out = join(args.out, name);
      process.stderr.write(`\n== ${name}: analyzing the recorded capture (no root needed)\n`);
      const summary = await analyzeCaptures({ captureDirs: [join(dataset, 'capture')], out, progress: true });
      process.stderr.write(renderSummary(summary));
      // The report scores against the truth (the numbers of nitrace score --json) and draws the figures.
      const { markdown, data } = await writeReport({ out, truth: dataset, log: (l) => process.stderr.write(`report: ${l}\n`) });
      process.stdout.write(`\n== ${name}: accuracy against OSProfiler ground truth\n${renderScore(data.accuracy!)}\n`);
      reports.push(markdown);
    }
    if (!samples.length) process.stderr.write('nitrace demo: no shipped sample dataset found under datasets/samples\n');
    if (args.live) {
      process.stderr.write('\n== live: capturing the built-in multi-service app on two nodes (host + network namespace)\n');
      await runCapturedDemo({ out: join(args.out, 'live') });
    } else {
      process.stderr.write('\n(live capture skipped: run as root, or pass --live)\n');
    }
    for (const r of reports) process.stdout.write(`\nreport: ${r}\n`);
    return 0;
  },
});
