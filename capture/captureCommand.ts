import { defineCommand } from '../cli/command.js';
export const captureCommand = defineCommand({
  name: 'capture',
  describe: 'record socket I/O of processes with eBPF into Parquet (placeholder, being written)',
  builder: (y) => y,
  run: async () => 0,
});
