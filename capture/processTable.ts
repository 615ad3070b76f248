import { readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { redactCommandLine } from './redact.js';

/** One row of processes.parquet (docs/capture-schema.md). */
export interface ProcessInfo {
  pid: number;
  ppid: number | null;
  comm: string | null;
  exe: string | null;
  cmdline: string | null;
  start_time_ns: bigint | null;
  listen_ports: number[];
  first_seen_ns: bigint;
}

const CLOCK_TICKS_PER_SECOND = 100n; // USER_HZ, 100 on Linux/x86_64

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

let bootTimeNs: bigint | null = null;
function bootTime(): bigint {
  if (bootTimeNs === null) {
    const m = /^btime (\d+)$/m.exec(read('/proc/stat') ?? '');
    bootTimeNs = m ? BigInt(m[1]!) * 1_000_000_000n : 0n;
  }
  return bootTimeNs;
}

/** TCP ports a process listens on: its socket inodes matched against LISTEN rows of its netns' tcp tables. */
function listenPorts(pid: number): number[] {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
          } catch {
            return undefined;
          }
        })
        .filter((x): x is string => x !== undefined),
    );
  } catch {
    return [];
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of (read(`/proc/${pid}/net/${table}`) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** What /proc says about a process now; fields it cannot read (the process is gone) are null. */
export function readProcess(pid: number, firstSeenNs: bigint, redact = true): ProcessInfo {
  const stat = read(`/proc/${pid}/stat`);
  // comm may contain spaces and parentheses: fields after the last ')'.
  const close = stat?.lastIndexOf(')') ?? -1;
  const fields = stat && close > 0 ? stat.slice(close + 2).split(' ') : null;
  let exe: string | null = null;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    /* gone, or a kernel thread */
  }
  const rawCmdline = read(`/proc/${pid}/cmdline`);
  const joined = rawCmdline ? rawCmdline.replace(/\0+$/, '').split('\0').join(' ') : null;
  const cmdline = joined !== null && redact ? redactCommandLine(joined) : joined;
  return {
    pid,
    ppid: fields ? Number(fields[1]) : null,
    comm: stat && close > 0 ? stat.slice(stat.indexOf('(') + 1, close) : null,
    exe,
    cmdline,
    start_time_ns: fields ? bootTime() + (BigInt(fields[19]!) * 1_000_000_000n) / CLOCK_TICKS_PER_SECOND : null,
    listen_ports: stat ? listenPorts(pid) : [],
    first_seen_ns: firstSeenNs,
  };
}

/** The processes seen in a capture: /proc is read once per pid, as soon as it shows up (short-lived clients are gone by the next segment). */
export class ProcessTable {
  private readonly seen = new Map<number, ProcessInfo>();

  constructor(private readonly redact: boolean) {}

  observe(pids: Iterable<number>): void {
    for (const pid of pids) {
      if (!this.seen.has(pid)) this.seen.set(pid, readProcess(pid, BigInt(Date.now()) * 1_000_000n, this.redact));
    }
  }

  all(): ProcessInfo[] {
    return [...this.seen.values()];
  }
}
