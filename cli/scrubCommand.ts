import { defineCommand } from './command.js';
import { scrubCapture } from '../capture/scrubCapture.js';
import { resolveCaptureDir } from '../capture/scan/scanCaptures.js';

export const scrubCommand = defineCommand({
  name: 'capture-scrub',
  positionals: '<dirs..>',
  describe: "apply this nitrace's redaction to captures already on disk, in place (same schema, rows and segments)",
  builder: (y) =>
    y
      .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'capture directories (or datasets holding one in capture/)' })
      .example('$0 capture-scrub old-dataset && $0 capture-scan old-dataset', 'redact a capture recorded by an older nitrace, then check it')
      .epilog('Rewrites only the segments holding a changed payload (temp file + rename) and records "scrubbed" in manifest.json.'),
  run: async (args) => {
    for (const d of args.dirs as string[]) {
      const r = await scrubCapture(resolveCaptureDir(d), (line) => process.stderr.write(line + '\n'));
      process.stderr.write(`nitrace capture-scrub: ${r.dir}: ${r.events} payload(s) in ${r.segments.length} segment(s), ${r.processes} command line(s)${r.manifestCommand ? ', the recorded command' : ''} redacted\n`);
    }
    return 0;
  },
});
