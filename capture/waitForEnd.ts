import { spawn, type ChildProcess } from 'node:child_process';

export interface EndConditions {
  /** `-- CMD ARGS`: the capture ends when it exits (empty: no command). */
  command: string[];
  /** Seconds; 0: no limit. With a command, the limit sends it SIGTERM. */
  duration: number;
  /** Settles when the kernel agent exits on its own (an unexpected end). */
  agentExited: Promise<unknown>;
  /** The first failure so far (checked every tick): the capture ends. */
  failure: () => string | null;
  fail: (message: string) => void;
  /** Called every `tickMs` while waiting (segment rotation by age). */
  tick: () => void;
  tickMs?: number;
  log: (line: string) => void;
}

export interface End {
  /** The command's exit code (128 + signal if it was killed); 127 if it could not be run; 0 without a command. */
  exitCode: number;
  /** A SIGINT or SIGTERM asked the capture to stop. */
  interrupted: boolean;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Waiting for the end of a capture: the command exits, --duration passes, SIGINT/SIGTERM arrives (passed on to the
 * command, whose exit then ends the capture), the agent exits, or something failed. Signal handlers are removed
 * when it resolves.
 */
export function waitForEnd(c: EndConditions): Promise<End> {
  return new Promise<End>((resolve) => {
    let child: ChildProcess | null = null;
    let exitCode = 0;
    let interrupted = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      clearInterval(ticker);
      if (timer) clearTimeout(timer);
      resolve({ exitCode, interrupted });
    };
    const running = () => child !== null && child.exitCode === null && child.signalCode === null;
    const onSignal = (sig: NodeJS.Signals): void => {
      interrupted = true;
      if (running()) child!.kill(sig); // the command decides; we stop when it exits
      else finish();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = c.duration > 0 ? setTimeout(() => (running() ? child!.kill('SIGTERM') : finish()), c.duration * 1000) : null;
    const ticker = setInterval(() => {
      c.tick();
      if (c.failure()) {
        if (running()) child!.kill('SIGTERM');
        finish();
      }
    }, c.tickMs ?? 250);
    void c.agentExited.then(finish, finish);
    if (c.command.length) {
      c.log(`nitrace capture: tracing; running ${c.command.join(' ')}`);
      child = spawn(c.command[0]!, c.command.slice(1), { stdio: 'inherit' });
      child.on('error', (e) => {
        c.fail(`cannot run ${c.command[0]}: ${e.message}`);
        exitCode = 127;
        finish();
      });
      child.on('exit', (code, signal) => {
        exitCode = code ?? 128 + (signal ? SIGNAL_NUMBERS[signal] ?? 0 : 0);
        finish();
      });
    } else {
      c.log(`nitrace capture: tracing${c.duration ? ` for ${c.duration} s` : ''}; Ctrl-C to stop`);
    }
  });
}
