import { spawnSync, type ChildProcess } from 'node:child_process';
import { startBackgroundCapture } from '../../capture/backgroundCapture.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/version.js';

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
  const args = ['--out', o.dir, '--node', o.node, '--force'];
  if (o.netns !== undefined) args.push('--netns', String(o.netns));
  for (const c of o.comms ?? []) args.push('--comm', c);
  if (o.snaplen) args.push('--snaplen', String(o.snaplen));
  const capture = await startBackgroundCapture(args);
  const p = capture.child;
  return {
    dir: o.dir,
    node: o.node,
    process: p,
    stop: async () => {
      const { code, stderr: log } = await capture.stop('SIGINT');
      if (!existsSync(join(o.dir, 'manifest.json'))) throw new Error(`nitrace capture wrote no manifest (exit ${code}):\n${log}`);
      const m = JSON.parse(readFileSync(join(o.dir, 'manifest.json'), 'utf8')) as { status: string };
      if (m.status !== 'complete' && m.status !== 'interrupted') throw new Error(`capture ${o.dir} ended with status ${m.status} (exit ${code}):\n${log}`);
      return code;
    },
  };
}
