/**
 * bpfOutside: where a hooked socket syscall's added cost goes that bpf_stats does not see (the program's own run
 * time is only part of what `make bench` measures per syscall), and how it grows with the payload copied.
 *
 *   node dist/bench/bpfOutside.js [--rounds N] [--iterations N] [--arms dispatch,no-payload,full,full-64,full-2048,...]
 *   (root; default the five arms named; also full-ring4, touch-16-pages, touch-16-lines; ~40 s per round)
 *
 * Captures (loaded at once, pinned to CPU 0, socket probes detached; --snaplen 4096, so every payload below is
 * copied whole): nitrace.bpf.c with PROFILE_STOP=1 (the program runs and returns: the tracepoint's dispatch, i.e.
 * the static key, __bpf_trace_run, the indirect call into the JITed program), PROFILE_STOP=6 (the whole data
 * path, the record written without payload), the whole path (--ring-mb 64), and with full-ring4 the whole path
 * with a 4 MiB ring per CPU (is writing records over 64 MiB of cold memory dearer?). Arms: a capture and the
 * loopback write+read loop's payload size (bench/syscall_loop.c, CPU 1): dispatch, no-payload, full at 256 bytes,
 * full-64 and full-2048 (the per-event cost on the traced process of a bigger copy). touch-16-pages / touch-16-lines:
 * the dispatch-only program plus 16 loads from 16 pages / from 1 page (PROFILE_TOUCH): the cost of a page touched
 * per event, i.e. a TLB refill (this VM runs PTI without PCID: every kernel entry and exit flushes the TLB).
 * Per arm and round (arms in an order rotated by round): the loop with every probe detached (off; before the rest in
 * even rounds, after it in odd ones), and with the arm's probes attached: with kernel.bpf_stats_enabled=0 (added =
 * that minus off, a few hundred ms apart) and with stats on (BPF ns per run from bpftool; the stats' own cost = CPU
 * with stats on minus off). Arm `none` attaches nothing: its "added" is the method's own bias and noise (A/A).
 * outside = added - BPF ns per run: what the syscall pays beyond the program's measured run time (dispatch, stores
 * and misses left for later code). Each socket syscall runs one program. Each measure is the minimum of REPS runs
 * (as in make bench: the least disturbed run). Intervals: t over rounds. Writes bench/results/bpf-outside-<time>.json.
 * Dev numbers on a busy machine are noisy: say so, with the load.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageRoot } from '../core/version.js';
import { startBackgroundCapture, type BackgroundCapture } from '../capture/backgroundCapture.js';
import { machineInfo, loadavg, writeResult } from './machine.js';
import { processTree, untilIdle } from './procCpu.js';
import { bpfPrograms, programsOf } from './bpfPrograms.js';
import { median, tInterval, fmtDiff } from './stats.js';
import { agentPid, setSocketProbes } from './socketProbes.js';

const argv = process.argv.slice(2);
const arg = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
const ROUNDS = Number(arg('--rounds') ?? 12);
const ITER = Number(arg('--iterations') ?? 30_000); // write+read pairs per run: 2 socket syscalls each
const REPS = 3;

interface CaptureKind {
  name: string;
  stop: number;
  ringMb: number;
  /** NITRACE_PROFILE_TOUCH "k:stride": k loads per event, stride bytes apart (nitrace.bpf.c, profile_touch) */
  touch?: string;
}
const DISPATCH: CaptureKind = { name: 'dispatch', stop: 1, ringMb: 64 };
const NO_PAYLOAD: CaptureKind = { name: 'no-payload', stop: 6, ringMb: 64 };
const FULL: CaptureKind = { name: 'full', stop: 0, ringMb: 64 };
const FULL_RING4: CaptureKind = { name: 'full-ring4', stop: 0, ringMb: 4 };
// 16 lines on 16 pages against 16 lines on 1 page (strides of a page + a line and of a line: the lines fall in
// different L1 sets either way; the area is prefaulted at start)
const TOUCH_PAGES: CaptureKind = { name: 'touch-16-pages', stop: 1, ringMb: 64, touch: '16:4160' };
const TOUCH_LINES: CaptureKind = { name: 'touch-16-lines', stop: 1, ringMb: 64, touch: '16:64' };
const ALL_ARMS: { name: string; capture: CaptureKind | null; bytes: number }[] = [
  { name: 'none', capture: null, bytes: 256 }, // A/A: "probes on" attaches nothing (the method's own bias)
  { name: 'dispatch', capture: DISPATCH, bytes: 256 },
  { name: 'no-payload', capture: NO_PAYLOAD, bytes: 256 },
  { name: 'full', capture: FULL, bytes: 256 },
  { name: 'full-64', capture: FULL, bytes: 64 },
  { name: 'full-2048', capture: FULL, bytes: 2048 },
  { name: 'full-ring4', capture: FULL_RING4, bytes: 256 },
  { name: 'touch-16-pages', capture: TOUCH_PAGES, bytes: 256 },
  { name: 'touch-16-lines', capture: TOUCH_LINES, bytes: 256 },
];
const only = arg('--arms')?.split(',') ?? ['none', 'dispatch', 'no-payload', 'full', 'full-64', 'full-2048'];
const ARMS = ALL_ARMS.filter((a) => only.includes(a.name));
const CAPTURES = [...new Set(ARMS.flatMap((a) => (a.capture ? [a.capture] : [])))];
if (!ARMS.length) throw new Error(`bpfOutside: --arms ${arg('--arms')}: none of ${ALL_ARMS.map((a) => a.name).join(', ')}`);
const SOCK_PROGRAMS = ['raw_tracepoint__sock_send_length', 'raw_tracepoint__sock_recv_length'];

const work = mkdtempSync(join(tmpdir(), 'nitrace-bpfoutside-'));
const LOOP = join(work, 'syscall_loop');
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

function setStats(on: boolean): void {
  execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${on ? 1 : 0}`]);
}

/** The loop REPS times on CPU 1: the least CPU ns per syscall, and the BPF ns per run of the sock_* programs among
 * `ids` over all runs (0 when none or stats are off). */
function runLoop(ids: Set<number>, bytes: number): { cpu_ns_per_syscall: number; bpf_ns_per_run: number; runs_per_syscall: number } {
  const stats = () => new Map(bpfPrograms().filter((p) => ids.has(p.id)).map((p) => [p.name, p]));
  const before = stats();
  let best = Infinity;
  let syscalls = 0;
  for (let i = 0; i < REPS; i++) {
    const [n, , cpuNs] = execFileSync('taskset', ['-c', '1', LOOP, 'tcp', String(ITER), '256'], { encoding: 'utf8' }).trim().split(' ').map(Number);
    best = Math.min(best, cpuNs! / n!);
    syscalls += n!;
  }
  const after = stats();
  let ns = 0;
  let runs = 0;
  for (const name of ids.size ? SOCK_PROGRAMS : []) {
    const a = after.get(name);
    const b = before.get(name);
    if (!a || !b) throw new Error(`bpfOutside: program ${name} not found among the capture's`);
    ns += (a.run_time_ns ?? 0) - (b.run_time_ns ?? 0);
    runs += (a.run_cnt ?? 0) - (b.run_cnt ?? 0);
  }
  return { cpu_ns_per_syscall: best, bpf_ns_per_run: ns / Math.max(1, runs), runs_per_syscall: runs / syscalls };
}

interface Loaded {
  kind: CaptureKind;
  cap: BackgroundCapture;
  agent: number;
  pids: number[];
  ids: Set<number>;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bpfOutside needs root (it loads probes)');
  const date = new Date().toISOString();
  const machine = machineInfo();
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', LOOP, join(packageRoot, 'bench', 'syscall_loop.c')]);
  const prevStats = execFileSync('sysctl', ['-n', 'kernel.bpf_stats_enabled'], { encoding: 'utf8' }).trim();
  const loaded: Loaded[] = [];
  const rounds: { order: string[]; arms: Record<string, { off: number; stats_off: number; stats_on: number; bpf_ns_per_run: number; runs_per_syscall: number }>; loadavg: string }[] = [];
  try {
    for (const kind of CAPTURES) {
      process.env.NITRACE_PROFILE_STOP = String(kind.stop);
      if (kind.touch) process.env.NITRACE_PROFILE_TOUCH = kind.touch;
      else delete process.env.NITRACE_PROFILE_TOUCH;
      const out = join(work, `cap-${kind.name}`);
      const cap = await startBackgroundCapture(['--out', out, '--comm', 'syscall_loop', '--snaplen', '4096', '--ring-mb', String(kind.ringMb), '--no-greenlet', '--force'], ['taskset', '-c', '0'], 300_000);
      const pids = processTree([cap.child.pid!]);
      const agent = agentPid(pids);
      loaded.push({ kind, cap, agent: agent ?? -1, pids, ids: programsOf(pids) });
      if (!agent) throw new Error(`bpfOutside: no capture/agent.py among the ${kind.name} capture's processes`);
      await setSocketProbes(agent, false);
    }
    delete process.env.NITRACE_PROFILE_STOP;
    delete process.env.NITRACE_PROFILE_TOUCH;
    for (const l of loaded) {
      // warm each path once: the thread's and sockets' first records
      await setSocketProbes(l.agent, true);
      execFileSync('taskset', ['-c', '1', LOOP, 'tcp', '5000', '256']);
      await setSocketProbes(l.agent, false);
      await untilIdle(l.pids);
    }
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...ARMS.slice(r % ARMS.length), ...ARMS.slice(0, r % ARMS.length)];
      const row: (typeof rounds)[number] = { order: order.map((a) => a.name), arms: {}, loadavg: loadavg() };
      setStats(false);
      for (const arm of order) {
        const l = loaded.find((x) => x.kind === arm.capture);
        const ids = l?.ids ?? new Set<number>();
        // off before on in even rounds, after it in odd ones: a drift within the arm cancels over rounds
        const offFirst = r % 2 === 0;
        let off = offFirst ? runLoop(new Set(), arm.bytes).cpu_ns_per_syscall : NaN;
        if (l) await setSocketProbes(l.agent, true);
        const on = runLoop(ids, arm.bytes);
        setStats(true);
        const stats = runLoop(ids, arm.bytes);
        setStats(false);
        if (l) await setSocketProbes(l.agent, false);
        if (l) await untilIdle(l.pids);
        if (!offFirst) off = runLoop(new Set(), arm.bytes).cpu_ns_per_syscall;
        row.arms[arm.name] = { off, stats_off: on.cpu_ns_per_syscall, stats_on: stats.cpu_ns_per_syscall, bpf_ns_per_run: stats.bpf_ns_per_run, runs_per_syscall: stats.runs_per_syscall };
      }
      rounds.push(row);
      log(`round ${r}: ${ARMS.map((a) => { const x = row.arms[a.name]!; return `${a.name} ${x.off.toFixed(0)} +${(x.stats_off - x.off).toFixed(0)} (BPF ${x.bpf_ns_per_run.toFixed(0)})`; }).join(', ')}; load ${row.loadavg.split(' ')[0]}`);
    }
  } finally {
    execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${prevStats}`]);
    for (const l of loaded) {
      await l.cap.stop();
      rmSync(join(work, `cap-${l.kind.name}`), { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  }
  const per = (name: string, f: (x: (typeof rounds)[number]['arms'][string]) => number) => rounds.map((row) => f(row.arms[name]!));
  const arms = ARMS.map((a) => ({
    arm: a.name,
    profile_stop: a.capture?.stop ?? null,
    ring_mb: a.capture?.ringMb ?? null,
    profile_touch: a.capture?.touch ?? null,
    payload_bytes: a.bytes,
    off_ns_per_syscall: median(per(a.name, (x) => x.off)),
    added_ns_per_syscall: tInterval(per(a.name, (x) => x.stats_off - x.off)),
    bpf_ns_per_run: tInterval(per(a.name, (x) => x.bpf_ns_per_run)),
    outside_ns_per_syscall: tInterval(per(a.name, (x) => x.stats_off - x.off - x.bpf_ns_per_run)),
    bpf_stats_cost_ns_per_syscall: tInterval(per(a.name, (x) => x.stats_on - x.stats_off)),
    runs_per_syscall: median(per(a.name, (x) => x.runs_per_syscall)),
  }));
  const file = writeResult('bpf-outside', date, {
    date, kind: 'bpf-outside', machine, label: process.env.BENCH_LABEL ?? null, rounds: ROUNDS, iterations: ITER, reps: REPS,
    method: 'captures loaded at once, socket probes attached in turn (arm order rotated per round); per arm: loop CPU ns per syscall (min of REPS runs) with every probe detached (off), then with the arm\'s probes and bpf_stats off (added = this - off), then bpf_stats on (BPF ns per run); outside = added - BPF',
    load_after: loadavg(), arms, raw: rounds,
  });
  console.log(`nitrace data path, cost outside the BPF program (${ROUNDS} rounds), load ${machine.load_before} -> ${loadavg()}`);
  for (const a of arms) {
    console.log(`  ${a.arm.padEnd(11)} added ${fmtDiff(a.added_ns_per_syscall, 'ns')}; BPF ${fmtDiff(a.bpf_ns_per_run, 'ns')}; outside ${fmtDiff(a.outside_ns_per_syscall, 'ns')}; bpf_stats' own cost ${fmtDiff(a.bpf_stats_cost_ns_per_syscall, 'ns')}`);
  }
  console.log(`  written to ${file}`);
}

main()
  .catch((e: unknown) => {
    console.error(`bpfOutside: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
