import type { Argv, ArgumentsCamelCase } from 'yargs';

/**
 * One `nitrace` subcommand. Each lives in its concern's folder (capture/, analyze/, datasets/, ...) and is
 * listed once, in order, in cli/commands.ts (loaded only when named). `run` returns the process exit code.
 */
export interface Command<A = Record<string, unknown>> {
  name: string;
  /** yargs positional syntax after the name, e.g. 'CAPTURE_DIR..' */
  positionals?: string;
  describe: string;
  builder: (y: Argv) => Argv<A>;
  run: (args: ArgumentsCamelCase<A>) => Promise<number>;
}

/** Identity helper so each command file keeps its argument types while the registry holds them all. */
export function defineCommand<A>(command: Command<A>): Command<A> {
  return command;
}
