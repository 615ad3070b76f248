import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackgroundCapture, CaptureRun } from '../capture/backgroundCapture.js';

/**
 * `nitrace capture ARGS` from another checkout ROOT (built), in the background, optionally under `prefix`
 * (`taskset -c 0`); resolves once its probes are attached. Benchmarks use it to run an older data path side by
 * side with this checkout's (startBackgroundCapture always runs this checkout's).
 */
export async function startCaptureFrom(root: string, args: string[], prefix: string[] = [], startTimeoutMs = 300_000): Promise<BackgroundCapture> {
  const cmd = [...prefix, process.execPath, join(root, 'bin', 'nitrace.js'), 'capture', ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<CaptureRun>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })));
  for (let waited = 0; !/\btracing\b/.test(stderr); waited += 100) {
    if (child.exitCode !== null) throw new Error(`nitrace capture (${root}) exited with ${child.exitCode} before tracing:\n${stderr}`);
    if (waited > startTimeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`nitrace capture (${root}) did not start tracing within ${startTimeoutMs / 1000} s:\n${stderr}`);
    }
    await sleep(100);
  }
  return {
    child,
    stop: async (signal: NodeJS.Signals = 'SIGINT') => {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const r = await closed;
      clearTimeout(timer);
      return r;
    },
  };
}
