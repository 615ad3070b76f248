/**
 * Runs one command as a child process and measures it from outside, as a user's shell would see it: wall time,
 * peak resident memory of the child and everything it starts, and the peak size of directories it spills into
 * (DuckDB's temp files). Memory and directory sizes are polled from /proc and the file system; the child's own
 * VmHWM (the kernel's exact peak) is read on every poll, so a short peak between two polls still counts for it.
 * A run over its time or memory limit is killed (its whole process group) and reported as such.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';

export interface WatchOptions {
  cwd?: string;
  timeoutMs: number;
  /** Kill the run when its processes together hold more than this (protects the shared machine). */
  maxRssBytes: number;
  /** Directories whose total size (allocated blocks) is the spill measure; missing ones count 0. */
  spillDirs: readonly string[];
  pollMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface WatchResult {
  status: 'ok' | 'failed' | 'timeout' | 'rss-limit';
  exitCode: number | null;
  signal: string | null;
  wallMs: number;
  /** max over polls of the summed VmRSS of the process tree, and the main process's VmHWM. */
  peakRssBytes: number;
  peakSpillBytes: number;
  /** The last lines the child wrote on stderr (progress: how far it got). */
  stderrTail: string[];
}

export function runWatched(cmd: string, args: readonly string[], opts: WatchOptions): Promise<WatchResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let peakRss = 0;
    let peakSpill = 0;
    let killedFor: WatchResult['status'] | null = null;
    const tail: string[] = [];
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      // Progress lines end in \r or \n; keep the last few whole ones.
      const parts = (partial + d).split(/[\r\n]/);
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) tail.push(p.trim());
      if (tail.length > 20) tail.splice(0, tail.length - 20);
    });
    const kill = (why: WatchResult['status']): void => {
      if (killedFor) return;
      killedFor = why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const poll = (): void => {
      if (child.pid === undefined) return;
      const { rss, hwm } = treeRss(child.pid);
      peakRss = Math.max(peakRss, rss, hwm);
      peakSpill = Math.max(peakSpill, ...opts.spillDirs.map(dirBytes));
      if (rss > opts.maxRssBytes) kill('rss-limit');
      if (performance.now() - t0 > opts.timeoutMs) kill('timeout');
    };
    const timer = setInterval(poll, opts.pollMs ?? 200);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      peakSpill = Math.max(peakSpill, ...opts.spillDirs.map(dirBytes));
      if (partial.trim()) tail.push(partial.trim());
      resolvePromise({
        status: killedFor ?? (code === 0 ? 'ok' : 'failed'),
        exitCode: code,
        signal,
        wallMs: Math.round(performance.now() - t0),
        peakRssBytes: peakRss,
        peakSpillBytes: peakSpill,
        stderrTail: tail.slice(-8),
      });
    });
  });
}

function status(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

const kb = (text: string, field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;

/** Children of a process, from /proc/PID/task/TID/children (every thread can be a parent). */
function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
      } catch {
        /* thread gone */
      }
    }
  } catch {
    /* process gone */
  }
  return out;
}

/** Summed VmRSS of `pid` and its descendants, and VmHWM of `pid` itself. */
export function treeRss(pid: number): { rss: number; hwm: number } {
  const main = status(pid);
  let rss = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    const s = p === pid ? main : status(p);
    if (s) rss += kb(s, 'VmRSS');
    stack.push(...children(p));
  }
  return { rss, hwm: main ? kb(main, 'VmHWM') : 0 };
}

/** Bytes allocated on disk under `dir` (sparse temp files count what they really use). */
export function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        const st = lstatSync(join(d, n));
        if (st.isDirectory()) stack.push(join(d, n));
        else total += st.blocks * 512;
      } catch {
        /* removed meanwhile */
      }
    }
  }
  return total;
}
