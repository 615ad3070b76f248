import { defineCommand } from './command.js';
import { scanCaptures, renderScanReport } from '../capture/scan/scanCaptures.js';
import { readSecretFile } from '../capture/scan/secretList.js';

export const scanCommand = defineCommand({
  name: 'capture-scan',
  positionals: '<dirs..>',
  describe: 'check captures for credentials that reached disk (credential shapes and listed secrets); exit 1 if any',
  builder: (y) =>
    y
      .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'capture directories (or datasets holding one in capture/)' })
      .option('secret-file', { type: 'string', describe: 'file of secrets to look for, one per line (# comments); never printed back' })
      .option('json', { type: 'boolean', default: false, describe: 'print the findings as JSON on stdout' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' })
      .example('$0 capture-scan /tmp/cap --secret-file lab-secrets.txt', 'the lab passwords must not appear anywhere')
      .example('$0 capture-scan datasets/samples/*', 'every shipped sample')
      .epilog('Exit codes: 0 nothing found, 1 at least one row holds a credential, 2 bad arguments.'),
  run: async (args) => {
    const secrets = args.secretFile ? readSecretFile(args.secretFile) : [];
    const report = await scanCaptures(args.dirs as string[], secrets, args.quiet ? undefined : (line) => process.stderr.write(line + '\n'));
    if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(renderScanReport(report, args.secretFile ?? null));
    return report.findings.length > 0 ? 1 : 0;
  },
});
