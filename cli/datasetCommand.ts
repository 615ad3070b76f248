import { defineCommand } from './command.js';
import { NitraceError, UsageError } from '../core/errors.js';
import { packDataset } from '../datasets/pack/packDataset.js';
import { verifyDataset } from '../datasets/pack/verifyDataset.js';
import { datasetInfo, renderInfo } from '../datasets/pack/datasetInfo.js';

interface DatasetArgs {
  action: 'pack' | 'verify' | 'info';
  path: string;
  out?: string;
  force: boolean;
  json: boolean;
}

export const datasetCommand = defineCommand<DatasetArgs>({
  name: 'dataset',
  positionals: '<action> <path>',
  describe: 'share datasets: pack DIR -o FILE (self-describing .tar.gz), verify FILE|DIR, info FILE|DIR',
  builder: (y) =>
    y
      .positional('action', { choices: ['pack', 'verify', 'info'] as const, describe: 'what to do' })
      .positional('path', { type: 'string', describe: 'dataset directory (pack, verify, info) or packed .tar.gz (verify, info)' })
      .option('out', { alias: 'o', type: 'string', describe: 'pack: the .tar.gz to write' })
      .option('force', { type: 'boolean', default: false, describe: 'pack: even a dataset recorded with --no-redact or with secret-scan findings' })
      .option('json', { type: 'boolean', default: false, describe: 'verify, info: print JSON' })
      .example('$0 dataset pack datasets/samples/tempest-compute-servers -o compute.tar.gz', 'card, schema versions, per-file SHA-256 inside')
      .example('$0 dataset verify compute.tar.gz', 'exit 2 and one line per changed, missing or extra file or wrong schema version')
      .example('$0 dataset info compute.tar.gz', 'what ran, versions, licence, sizes, without unpacking') as never,
  run: async (args) => {
    if (args.action === 'pack') {
      if (!args.out) throw new UsageError('dataset', 'pack needs -o FILE.tar.gz');
      const { file, manifest } = await packDataset({ dir: args.path, out: args.out, force: args.force, log: (l) => process.stderr.write(`nitrace dataset: ${l}\n`) });
      process.stdout.write(`${file}: ${manifest.files.length} files, ${(manifest.total_bytes / 1e6).toFixed(2)} MB of data, verified\n`);
      return 0;
    }
    if (args.out) throw new UsageError('dataset', `-o is for pack only`);
    if (args.action === 'info') {
      const info = await datasetInfo(args.path);
      process.stdout.write(args.json ? JSON.stringify(info, null, 2) + '\n' : renderInfo(info));
      return 0;
    }
    const r = await verifyDataset(args.path);
    if (args.json) process.stdout.write(JSON.stringify({ ok: r.ok, against: r.against, files: r.files, bytes: r.bytes, problems: r.problems }, null, 2) + '\n');
    if (!r.ok) {
      throw new NitraceError('dataset', `${args.path}: ${r.problems.length} problem${r.problems.length > 1 ? 's' : ''}:\n  ${r.problems.join('\n  ')}`, 2);
    }
    if (!args.json) {
      const what = r.against === 'nitrace-dataset.json' ? 'every file matches nitrace-dataset.json' : 'no nitrace-dataset.json here: checked the capture segments against their capture manifests and the schema versions only';
      process.stdout.write(`${args.path}: ok, ${r.files} files, ${(r.bytes / 1e6).toFixed(2)} MB; ${what}\n`);
    }
    return 0;
  },
});
