/**
 * nitrace: the command line. Flags are parsed here; every subcommand's work lives in its own folder.
 * Exit codes: 0 ok, 1 failure while working, 2 usage or input error, 3 missing privilege or dependency;
 * `nitrace capture -- CMD` returns CMD's exit code.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commandsFor } from './commands.js';
import { NitraceError } from '../core/errors.js';
import { version } from '../core/version.js';
import { stepOf } from '../analyze/diagnostics.js';

async function main(): Promise<number> {
  let exitCode = 0;
  const parser = yargs(hideBin(process.argv))
    .scriptName('nitrace')
    .usage('$0 <command> [options]\n\nNon-intrusive distributed tracing: capture socket I/O with eBPF, rebuild traces offline.')
    .version(version)
    .strict()
    .demandCommand(1, 'name a command (see the list above)')
    .recommendCommands()
    .parserConfiguration({ 'populate--': true })
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help() && ''}nitrace: ${msg}\nRun \`nitrace --help\` or \`nitrace <command> --help\`.\n`);
      process.exit(2);
    });
  for (const c of await commandsFor(hideBin(process.argv))) {
    parser.command(
      c.positionals ? `${c.name} ${c.positionals}` : c.name,
      c.describe,
      (y) => c.builder(y),
      async (args) => {
        exitCode = await c.run(args);
      },
    );
  }
  await parser.parseAsync();
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof NitraceError) {
      process.stderr.write(`nitrace ${err.subsystem}: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      const step = stepOf(err);
      process.stderr.write(`nitrace: internal error${step ? ` in analysis step ${step}` : ''}: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
