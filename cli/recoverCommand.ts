import { defineCommand } from './command.js';
import { recoverCapture } from '../capture/recover.js';
import { formatSummary } from '../capture/summary.js';

const COUNTERS = {
  final: 'final, written as the agent stopped: unflushed is exact',
  periodic: 'the last periodic ones (the agent died without its final counters): unflushed is a lower bound',
  none: 'none (no agent-stats.json): unflushed is unknown',
} as const;

export const recoverCommand = defineCommand({
  name: 'capture-recover',
  positionals: '<dir>',
  describe: 'make a capture killed mid-way consistent and count what it lost',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'capture directory' })
      .example('nitrace capture-recover /tmp/cap', 'after `kill -9` of a capture'),
  run: async (args) => {
    const r = await recoverCapture(args.dir as string, { log: (line) => process.stderr.write(`${line}\n`) });
    const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'none');
    const lines = [
      `nitrace capture-recover: ${args.dir}`,
      `  converted spooled segments: ${list(r.converted)}`,
      `  complete segments added to the manifest: ${list(r.adopted)}`,
      `  spools of segments already complete, removed: ${list(r.droppedSpools)}`,
      `  half-written files removed (their events count as lost): ${list(r.removedTemps)}`,
      `  agent counters: ${COUNTERS[r.agentCounters]}${r.agentCountersAt ? ` (${r.agentCountersAt})` : ''}`,
      ...(r.quarantined.length ? [`  QUARANTINED (unreadable; their events count as lost): ${r.quarantined.join('; ')}`] : []),
      formatSummary(args.dir as string, r.manifest),
    ];
    process.stderr.write(lines.join('\n') + '\n');
    return 0;
  },
});
