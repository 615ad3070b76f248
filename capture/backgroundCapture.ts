import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../core/version.js';

/** How a background capture ended. */
export interface CaptureRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BackgroundCapture {
  child: ChildProcess;
  /** Send `signal` (SIGINT = Ctrl-C, a clean stop) and wait until the capture has written its manifest and exited. */
  stop: (signal?: NodeJS.Signals) => Promise<CaptureRun>;
}

/**
 * Runs `nitrace capture ARGS` in the background (optionally under `prefix`, e.g. `taskset -c 0`) and resolves once
 * it reports its probes attached, so traffic made afterwards is captured. Used by the demo, tests and benchmarks.
 * `root`: the (built) checkout whose nitrace runs; benchmarks pass another one to compare an older data path.
 */
export async function startBackgroundCapture(args: string[], prefix: string[] = [], startTimeoutMs = 120_000, root = packageRoot): Promise<BackgroundCapture> {
  const cmd = [...prefix, process.execPath, join(root, 'bin', 'nitrace.js'), 'capture', ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<CaptureRun>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })));
  // "nitrace capture: tracing; ..." is printed once the probes are attached.
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
