import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../cli/version.js';

/** A `nitrace capture` running in the background. */
export interface LiveCapture {
  dir: string;
  node: string;
  process: ChildProcess;
  /** Stops it (SIGINT, as Ctrl-C) and waits until it has written its last segment and manifest. */
  stop(): Promise<number>;
}

const NITRACE = join(packageRoot, 'bin', 'nitrace.js');

/** True if this checkout's `nitrace capture` takes the documented options (it is written in parallel). */
export function captureAvailable(): boolean {
  const r = spawnSync(process.execPath, [NITRACE, 'capture', '--help'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('--out') && r.stdout.includes('--netns');
}

/**
 * Starts `nitrace capture --out DIR --node NODE [--netns N] [--comm C]` and resolves once it says its probes are
 * attached ("tracing"), so traffic made afterwards is in the capture.
 */
export async function startCapture(o: { dir: string; node: string; netns?: bigint; comms?: string[]; snaplen?: number }): Promise<LiveCapture> {
  const args = [NITRACE, 'capture', '--out', o.dir, '--node', o.node, '--force'];
  if (o.netns !== undefined) args.push('--netns', String(o.netns));
  for (const c of o.comms ?? []) args.push('--comm', c);
  if (o.snaplen) args.push('--snaplen', String(o.snaplen));
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number>((res) => p.on('exit', (c, sig) => res(c ?? (sig ? 128 : 1))));
  for (let i = 0; ; i++) {
    if (p.exitCode !== null) throw new Error(`nitrace capture exited with ${p.exitCode} before recording:\n${log}`);
    if (/\btracing\b/.test(log)) break; // "nitrace capture: tracing; Ctrl-C to stop": probes attached
    if (i > 1200) {
      p.kill('SIGKILL');
      throw new Error(`nitrace capture did not start recording within 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dir: o.dir,
    node: o.node,
    process: p,
    stop: async () => {
      if (p.exitCode === null) p.kill('SIGINT');
      const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      if (!existsSync(join(o.dir, 'manifest.json'))) throw new Error(`nitrace capture wrote no manifest (exit ${code}):\n${log}`);
      const m = JSON.parse(readFileSync(join(o.dir, 'manifest.json'), 'utf8')) as { status: string };
      if (m.status !== 'complete' && m.status !== 'interrupted') throw new Error(`capture ${o.dir} ended with status ${m.status} (exit ${code}):\n${log}`);
      return code;
    },
  };
}
