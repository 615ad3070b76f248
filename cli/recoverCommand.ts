import { defineCommand } from './command.js';
import { recoverCapture } from '../capture/recover.js';
import { formatSummary } from '../capture/summary.js';

export const recoverCommand = defineCommand({
  name: 'capture-recover',
  positionals: '<dir>',
  describe: 'make a capture killed mid-way consistent and count what it lost',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'capture directory' })
      .example('nitrace capture-recover /tmp/cap', 'after `kill -9` of a capture'),
  run: async (args) => {
    const r = await recoverCapture(args.dir as string);
    const lines = [
      `nitrace capture-recover: ${args.dir}`,
      `  converted spooled segments: ${r.converted.length ? r.converted.join(', ') : 'none'}`,
      `  complete segments added to the manifest: ${r.adopted.length ? r.adopted.join(', ') : 'none'}`,
      `  half-written files removed: ${r.removedTemps.length ? r.removedTemps.join(', ') : 'none'}`,
      ...(r.unreadable.length ? [`  UNREADABLE: ${r.unreadable.join('; ')}`] : []),
      formatSummary(args.dir as string, r.manifest),
    ];
    process.stderr.write(lines.join('\n') + '\n');
    return r.unreadable.length ? 1 : 0;
  },
});
