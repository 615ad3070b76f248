/**
 * Generates (or finds cached) a capture set of N events replayed from the shipped OpenStack samples.
 *
 *   node dist/bench/analyze/generate.js --events 1M | --replicas R  [--lanes 2] [--layout roles|single] [--slice-s S]
 *                                       [--dir DIR] [--sample DATASET_DIR ...]
 *
 * Prints the capture set's directory; `nitrace analyze DIR/nodes/* --out OUT` analyzes it and
 * `nitrace score OUT --truth DIR` scores it. Data goes to $NITRACE_BENCH_DIR or /var/tmp/nitrace-bench.
 */
import { parseArgs } from 'node:util';
import { generateCaptureSet } from './captureSet.js';
import type { Layout } from './placement.js';

/** "1M", "250k", "3000000" -> a number of events. */
export function parseCount(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`not a count of events: ${s} (e.g. 250k, 1M, 3000000)`);
  const mult = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[m[2]!]!;
  return Math.round(Number(m[1]) * mult);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      replicas: { type: 'string' },
      lanes: { type: 'string', default: '2' },
      layout: { type: 'string', default: 'roles' },
      'slice-s': { type: 'string' },
      dir: { type: 'string' },
      sample: { type: 'string', multiple: true },
    },
  });
  const set = await generateCaptureSet({
    events: values.events === undefined ? (values.replicas === undefined ? 1e6 : undefined) : parseCount(values.events),
    replicas: values.replicas === undefined ? undefined : Number(values.replicas),
    lanes: Number(values.lanes),
    layout: values.layout as Layout,
    sliceS: values['slice-s'] === undefined ? null : Number(values['slice-s']),
    root: values.dir,
    samples: values.sample,
    log: (l) => process.stderr.write(l + '\n'),
  });
  process.stdout.write(set.dir + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: Error) => {
    process.stderr.write(`generate: ${e.message}\n`);
    process.exit(1);
  });
}
