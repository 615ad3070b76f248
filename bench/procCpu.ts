/**
 * CPU accounting from /proc: busy time of the whole host (/proc/stat) and CPU time of chosen process trees
 * (/proc/PID/stat utime+stime, threads included). Used to show where the capture's cost lands: in the traced
 * services (probes run in their syscalls) and in the capture's own processes, independently of the throughput
 * noise other jobs on the machine cause.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const TICK_NS = 1e9 / 100; // USER_HZ is 100 on Linux x86_64 (sysconf(_SC_CLK_TCK)); /proc reports in ticks

/** Busy and total CPU time of the host, summed over CPUs, in ns. */
export function hostCpu(): { busyNs: number; totalNs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!; // "cpu  user nice system idle iowait irq softirq steal ..."
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((s, x) => s + x, 0); // guest time is already inside user
  return { busyNs: (total - idle) * TICK_NS, totalNs: total * TICK_NS };
}

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  cpuNs: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')'); // comm may contain spaces and parentheses
    const rest = s.slice(close + 2).split(' ');
    // fields after comm: state(0) ppid(1) ... utime(11) stime(12)
    return { pid, ppid: Number(rest[1]), comm: s.slice(s.indexOf('(') + 1, close), cpuNs: (Number(rest[11]) + Number(rest[12])) * TICK_NS };
  } catch {
    return null; // exited between readdir and read
  }
}

export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) out.push(st);
  }
  return out;
}

/** The pids of `roots` and all their descendants alive now. */
export function processTree(roots: readonly number[]): number[] {
  const procs = allProcesses();
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const seen = new Set<number>();
  const todo = [...roots];
  while (todo.length) {
    const pid = todo.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

/**
 * CPU time (ns) of a fixed set of processes, read at two moments: the difference is what they used in between.
 * A process that exits in between loses its last interval (its time goes to its parent's cutime, not counted):
 * sample sets of long-lived daemons, or re-read the tree at the end for short-lived children.
 */
export function cpuOf(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    const st = readStat(pid);
    if (st) m.set(pid, st.cpuNs);
  }
  return m;
}

/** Sum over pids present in both samples of (after - before); pids new in `after` count from 0. */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ns] of after) sum += ns - (before.get(pid) ?? 0);
  return sum;
}

/** Resolves once `pids` (a capture's processes) used less than one clock tick (10 ms) of CPU in 300 ms (at most 30 s). */
export async function untilIdle(pids: readonly number[]): Promise<void> {
  if (!pids.length) return;
  let last = cpuOf(pids);
  for (let waited = 0; waited < 30_000; waited += 300) {
    await sleep(300);
    const now = cpuOf(pids);
    if (cpuDelta(last, now) <= 10e6) return;
    last = now;
  }
}
