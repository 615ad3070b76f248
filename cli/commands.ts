import type { Command } from './command.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = Command<any>;

/**
 * Every nitrace subcommand by name, in the order `--help` lists them. Adding a command means adding one line here.
 * Each is loaded only when needed: a command's module pulls in its engine (DuckDB, charts, Arrow, ...), and
 * loading all of them made every `nitrace` start cost ~1.6 s of CPU here (0.7 s for `nitrace capture` alone).
 */
export const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  capture: async () => (await import('./captureCommand.js')).captureCommand,
  'capture-recover': async () => (await import('./recoverCommand.js')).recoverCommand,
  'capture-scan': async () => (await import('./scanCommand.js')).scanCommand,
  'capture-scrub': async () => (await import('./scrubCommand.js')).scrubCommand,
  analyze: async () => (await import('./analyzeCommand.js')).analyzeCommand,
  score: async () => (await import('./scoreCommand.js')).scoreCommand,
  'sketch-eval': async () => (await import('./sketchEvalCommand.js')).sketchEvalCommand,
  report: async () => (await import('./reportCommand.js')).reportCommand,
  dataset: async () => (await import('./datasetCommand.js')).datasetCommand,
  store: async () => (await import('./storeCommand.js')).storeCommand,
  demo: async () => (await import('./demoCommand.js')).demoCommand,
};

/** The commands a command line needs: the one it names, or all of them (help, a misspelt name, no command). */
export async function commandsFor(argv: string[]): Promise<AnyCommand[]> {
  const first = argv[0];
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) return [await COMMANDS[first]!()];
  return Promise.all(Object.values(COMMANDS).map((load) => load()));
}
