import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from './command.js';
import { NitraceError, UsageError } from '../core/errors.js';
import { readTruth } from '../datasets/truth/truthStore.js';
import { BASELINES, type BaselineName } from '../datasets/score/baselines/registry.js';
import { DEFAULT_MAP_OPTIONS } from '../datasets/score/mapTruth.js';
import { readObserved } from '../datasets/score/observed.js';
import { renderScore } from '../datasets/score/renderScore.js';
import { scoreAll } from '../datasets/score/score.js';

interface ScoreArgs {
  out: string;
  truth: string;
  json: boolean;
  baseline: string[];
  toleranceMs: number;
  explain: number;
}

const BASELINE_NAMES = Object.keys(BASELINES) as BaselineName[];

export const scoreCommand = defineCommand<ScoreArgs>({
  name: 'score',
  positionals: '<out>',
  describe: 'score a reconstruction (nitrace analyze OUT) against OSProfiler ground truth, with baselines',
  builder: (y) =>
    y
      .positional('out', { type: 'string', demandOption: true, describe: 'analysis output dir (spans.parquet, edges.parquet)' })
      .option('truth', { type: 'string', demandOption: true, describe: 'dataset dir holding truth/spans.parquet' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of the table' })
      .option('baseline', {
        type: 'string',
        array: true,
        default: BASELINE_NAMES,
        describe: `baselines scored on the same spans (${BASELINE_NAMES.join(', ')}, or none)`,
      })
      .option('tolerance-ms', { type: 'number', default: DEFAULT_MAP_OPTIONS.toleranceUs / 1000, describe: 'max |Δstart|+|Δend| when mapping truth points to spans' })
      .option('explain', { type: 'number', default: 0, describe: 'also list the first N wrong or missed edges of the reconstruction' })
      .example('$0 score out/ --truth datasets/samples/tempest-identity-image', 'accuracy table with FCFS, vPath and DeepFlow baselines')
      .example('$0 score out/ --truth DATASET --json --baseline deepflow', 'JSON for scripts, one baseline') as never,
  run: async (args) => {
    const names = args.baseline.flatMap((b) => b.split(',')).filter((b) => b !== 'none');
    for (const b of names) if (!(b in BASELINES)) throw new UsageError('score', `unknown baseline '${b}' (${BASELINE_NAMES.join(', ')}, none)`);
    const truthDir = join(args.truth, 'truth');
    if (!existsSync(join(truthDir, 'spans.parquet'))) throw new UsageError('score', `${truthDir}/spans.parquet not found (is ${args.truth} a dataset?)`);
    let report;
    try {
      const truth = await readTruth(truthDir);
      const observed = await readObserved(args.out);
      report = scoreAll(truth.points, observed, names as BaselineName[], { ...DEFAULT_MAP_OPTIONS, toleranceUs: args.toleranceMs * 1000 }, args.explain);
      if (args.explain > 0 && !args.json) {
        const byId = new Map(observed.spans.map((s) => [s.span_id, s]));
        const d = (id: string | null) => {
          const s = id ? byId.get(id) : undefined;
          return s ? `${s.span_id} ${s.kind} ${s.service ?? s.comm}:${s.pid}/${s.tid} ${s.protocol} ${s.method ?? ''} ${(s.path ?? '').slice(0, 60)}` : 'none';
        };
        for (const m of report.mistakes ?? []) {
          console.log(`${m.base_id} ${m.service} ${m.point_name} ${m.point}\n  span ${d(m.span)}\n  want ${d(m.want)}\n  got  ${d(m.got)}`);
        }
      }
    } catch (e) {
      if (e instanceof NitraceError) throw e;
      throw new NitraceError('score', (e as Error).message);
    }
    console.log(args.json ? JSON.stringify(report, null, 2) : renderScore(report));
    return 0;
  },
});
