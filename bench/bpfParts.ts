/**
 * bpfParts: what each part of the capture's data path (capture/nitrace.bpf.c, on_sock_io) costs, from bpf_stats.
 *
 *   node dist/bench/bpfParts.js [--rounds N] [--iterations N] [--stages 1,2,0]   (root; ~1 min per round, quiet)
 *   node dist/bench/bpfParts.js --baseline DIR [--rounds N]      (A/B: DIR's whole data path against this one's)
 *
 * The program is compiled with PROFILE_STOP=k (NITRACE_PROFILE_STOP, read by capture/agent.py), which returns after
 * stage k: 1 dispatch only, 2 + the thread's filter verdict, 3 + the socket's connection number, 4 + registers,
 * 5 + TCP sequence number, 6 + the record without payload, 0 the whole path (+ the 256-byte payload copy). Each
 * round loads every variant once, in an order rotated by round, and runs the same loopback write+read loop
 * (bench/syscall_loop.c, 256 bytes, CPU 1; capture on CPU 0) under kernel.bpf_stats_enabled=1 (restored after).
 * A part's cost is the difference between consecutive stages' ns per run of the two sock_* programs, taken round by
 * round (t interval over rounds). bpf_stats adds its own clock reads to every run: the absolute numbers are a
 * little high, the differences are not affected. Writes bench/results/bpf-parts-<time>.json. Dev numbers on a
 * busy machine are noisy (other tasks' cache and TLB pressure, the VM's steal time inside a run): say so.
 * --stages k,...: only those stages (in path order; a part is then the difference to the previous one listed).
 * --baseline DIR: another built nitrace checkout (e.g. main before a data-path change; its capture/agent.py must know
 * SIGUSR1/SIGUSR2, bench/socketProbes.ts). Both captures are loaded at once with their socket probes detached; each
 * round attaches one capture's probes, runs the loop, detaches them, then the other's (order alternating), so the two
 * data paths are compared a second apart on the same machine state (restarting a capture per measure, as stages do,
 * puts ~30 s between them, and the VM's speed drifts by more than a data-path change over that). Per round: BPF ns
 * per run of each, and the loop's CPU ns per syscall of each and with both detached (`off`). Result: this one minus
 * DIR's, round by round (t interval; default 20 rounds).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageRoot } from '../core/version.js';
import { startBackgroundCapture } from '../capture/backgroundCapture.js';
import { machineInfo, loadavg, writeResult } from './machine.js';
import { processTree, untilIdle } from './procCpu.js';
import { bpfPrograms, programsOf } from './bpfPrograms.js';
import { median, tInterval, fmtDiff, type Interval } from './stats.js';
import { agentPid, setSocketProbes } from './socketProbes.js';

const argv = process.argv.slice(2);
const arg = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
const BASELINE = arg('--baseline');
const ROUNDS = Number(arg('--rounds') ?? (BASELINE ? 20 : 5));
const ITER = Number(arg('--iterations') ?? 50_000); // write+read pairs per measurement: 2 socket syscalls each

/** Stages in path order (PROFILE_STOP values); 0 is the whole path, so it comes last. */
const ALL_STAGES = [
  { stop: 1, part: 'dispatch (the program runs and returns)' },
  { stop: 2, part: "thread's filter verdict (threads array)" },
  { stop: 3, part: "socket's connection number (per-thread cache, ring and generation lookups)" },
  { stop: 4, part: 'syscall, fd, buffer from the saved registers' },
  { stop: 5, part: 'TCP sequence number' },
  { stop: 6, part: "record without payload (timestamp, ring write, the ring's event count)" },
  { stop: 0, part: '256-byte payload copy' },
];
const only = arg('--stages')?.split(',').map(Number);
const STAGES = ALL_STAGES.filter((s) => !only || only.includes(s.stop));
if (!STAGES.length) throw new Error(`bpfParts: --stages ${arg('--stages')}: no such stage (${ALL_STAGES.map((s) => s.stop).join(', ')})`);
const SOCK_PROGRAMS = ['raw_tracepoint__sock_send_length', 'raw_tracepoint__sock_recv_length'];

const work = mkdtempSync(join(tmpdir(), 'nitrace-bpfparts-'));
const LOOP = join(work, 'syscall_loop');
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

function runStats(ids: Set<number>): Map<string, { run_time_ns: number; run_cnt: number }> {
  return new Map(bpfPrograms().filter((p) => ids.has(p.id)).map((p) => [p.name, { run_time_ns: p.run_time_ns ?? 0, run_cnt: p.run_cnt ?? 0 }]));
}

interface Measured {
  ns_per_run: number;
  runs: number;
  loop_cpu_ns_per_syscall: number;
  loadavg: string;
}

/** The capture of checkout `root` (default this one), compiled with PROFILE_STOP=stop, on CPU 0. */
function startCapture(out: string, stop: number, root?: string) {
  process.env.NITRACE_PROFILE_STOP = String(stop);
  return startBackgroundCapture(['--out', out, '--comm', 'syscall_loop', '--snaplen', '512', '--ring-mb', '64', '--no-greenlet', '--force'], ['taskset', '-c', '0'], 300_000, root);
}

/** The loop once (CPU 1): its CPU ns per syscall, and the BPF ns per run of the two sock_* programs among `ids`
 * (none: the loop alone). */
function runLoop(ids: Set<number>): Measured {
  const before = runStats(ids);
  const [syscalls, , cpuNs] = execFileSync('taskset', ['-c', '1', LOOP, 'tcp', String(ITER), '256'], { encoding: 'utf8' }).trim().split(' ').map(Number);
  const after = runStats(ids);
  let ns = 0;
  let runs = 0;
  for (const name of ids.size ? SOCK_PROGRAMS : []) {
    const a = after.get(name);
    const b = before.get(name);
    if (!a || !b) throw new Error(`bpfParts: program ${name} not found among the capture's (${[...after.keys()].join(', ')})`);
    ns += a.run_time_ns - b.run_time_ns;
    runs += a.run_cnt - b.run_cnt;
  }
  return { ns_per_run: ns / Math.max(1, runs), runs, loop_cpu_ns_per_syscall: cpuNs! / syscalls!, loadavg: loadavg() };
}

/** One stage: its capture loaded for this measure only. */
async function measure(stop: number): Promise<Measured> {
  const out = join(work, `cap-${stop}`);
  const cap = await startCapture(out, stop);
  try {
    const ids = programsOf(processTree([cap.child.pid!]));
    execFileSync('taskset', ['-c', '1', LOOP, 'tcp', '5000', '256']); // warm: the thread's and socket's first records
    return runLoop(ids);
  } finally {
    await cap.stop();
    rmSync(out, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}

/** --baseline: both captures loaded, their socket probes attached in turn (see the header). */
async function compareWithBaseline(): Promise<Record<string, unknown>> {
  const arms = { baseline: BASELINE, new: undefined } as const;
  const caps: Partial<Record<keyof typeof arms, { cap: Awaited<ReturnType<typeof startCapture>>; agent: number; ids: Set<number>; pids: number[] }>> = {};
  const rounds: { order: string[]; off: number; baseline: Measured; new: Measured }[] = [];
  try {
    for (const [arm, root] of Object.entries(arms) as [keyof typeof arms, string | undefined][]) {
      const cap = await startCapture(join(work, `cap-${arm}`), 0, root);
      const pids = processTree([cap.child.pid!]);
      const agent = agentPid(pids);
      caps[arm] = { cap, agent: agent ?? -1, ids: programsOf(pids), pids };
      if (!agent) throw new Error(`bpfParts: no capture/agent.py among the ${arm} capture's processes`);
      await setSocketProbes(agent, false);
    }
    for (const c of Object.values(caps)) {
      // warm each path once: the thread's and sockets' first records
      await setSocketProbes(c.agent, true);
      execFileSync('taskset', ['-c', '1', LOOP, 'tcp', '5000', '256']);
      await setSocketProbes(c.agent, false);
      await untilIdle(c.pids);
    }
    for (let r = 0; r < ROUNDS; r++) {
      const order: (keyof typeof arms)[] = r % 2 ? ['new', 'baseline'] : ['baseline', 'new'];
      const row = { order, off: runLoop(new Set()).loop_cpu_ns_per_syscall } as (typeof rounds)[number];
      for (const arm of order) {
        const c = caps[arm]!;
        await setSocketProbes(c.agent, true);
        row[arm] = runLoop(c.ids);
        await setSocketProbes(c.agent, false);
        await untilIdle(c.pids);
      }
      rounds.push(row);
      log(`round ${r}: baseline ${row.baseline.ns_per_run.toFixed(0)}, this ${row.new.ns_per_run.toFixed(0)} ns/run; loop off ${row.off.toFixed(0)}, baseline ${row.baseline.loop_cpu_ns_per_syscall.toFixed(0)}, this ${row.new.loop_cpu_ns_per_syscall.toFixed(0)} ns/syscall; load ${row.new.loadavg.split(' ')[0]}`);
    }
  } finally {
    for (const [arm, c] of Object.entries(caps)) {
      await c.cap.stop();
      rmSync(join(work, `cap-${arm}`), { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  }
  const bpf = (arm: 'baseline' | 'new') => rounds.map((x) => x[arm].ns_per_run);
  const loop = (arm: 'baseline' | 'new') => rounds.map((x) => x[arm].loop_cpu_ns_per_syscall - x.off);
  return {
    bpf_ns_per_run: { baseline: median(bpf('baseline')), this: median(bpf('new')), this_minus_baseline: tInterval(rounds.map((x) => x.new.ns_per_run - x.baseline.ns_per_run)) },
    loop_added_ns_per_syscall: {
      note: 'bpf_stats is on: every program run also times itself (two clock reads), in both arms',
      baseline: tInterval(loop('baseline')),
      this: tInterval(loop('new')),
      this_minus_baseline: tInterval(rounds.map((x) => x.new.loop_cpu_ns_per_syscall - x.baseline.loop_cpu_ns_per_syscall)),
    },
    raw: rounds,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bpfParts needs root (it loads probes)');
  const date = new Date().toISOString();
  const machine = machineInfo();
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', LOOP, join(packageRoot, 'bench', 'syscall_loop.c')]);
  const prev = execFileSync('sysctl', ['-n', 'kernel.bpf_stats_enabled'], { encoding: 'utf8' }).trim();
  execFileSync('sysctl', ['-q', '-w', 'kernel.bpf_stats_enabled=1']);
  if (BASELINE) {
    let ab: Record<string, unknown>;
    try {
      ab = await compareWithBaseline();
    } finally {
      execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${prev}`]);
    }
    const file = writeResult('bpf-ab', date, {
      date, kind: 'bpf-ab', machine, label: process.env.BENCH_LABEL ?? null, rounds: ROUNDS, iterations: ITER, baseline: BASELINE,
      method: 'both captures loaded; per round each one\'s sock_* probes attached in turn (SIGUSR2/SIGUSR1), order alternating; bpf_stats run_time_ns / run_cnt of sock_send_length + sock_recv_length, and the loop\'s CPU ns per syscall against a run with both detached',
      load_after: loadavg(), ...ab,
    });
    const b = ab.bpf_ns_per_run as { baseline: number; this: number; this_minus_baseline: Interval };
    const l = ab.loop_added_ns_per_syscall as { baseline: Interval; this: Interval; this_minus_baseline: Interval };
    console.log(`nitrace data path A/B (${ROUNDS} rounds), load ${machine.load_before} -> ${loadavg()}`);
    console.log(`  BPF ns per run: baseline ${b.baseline.toFixed(0)}, this ${b.this.toFixed(0)}; this - baseline ${fmtDiff(b.this_minus_baseline, 'ns')}`);
    console.log(`  loop CPU added per socket syscall: baseline ${fmtDiff(l.baseline, 'ns')}, this ${fmtDiff(l.this, 'ns')}; this - baseline ${fmtDiff(l.this_minus_baseline, 'ns')}`);
    console.log(`  written to ${file}`);
    return;
  }
  const rounds: Record<number, Measured>[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...STAGES.slice(r % STAGES.length), ...STAGES.slice(0, r % STAGES.length)];
      const row: (typeof rounds)[number] = {};
      for (const s of order) {
        const m = (row[s.stop] = await measure(s.stop));
        log(`round ${r} stop ${s.stop}: ${m.ns_per_run.toFixed(0)} ns/run (${m.runs} runs), load ${m.loadavg.split(' ')[0]}`);
      }
      rounds.push(row);
    }
  } finally {
    execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${prev}`]);
  }
  const parts = STAGES.map((s, i) => {
    const per = rounds.map((row) => row[s.stop]!.ns_per_run - (i ? row[STAGES[i - 1]!.stop]!.ns_per_run : 0));
    return { stage: s.stop, part: s.part, added_ns: tInterval(per), per_round: per.map((x) => Math.round(x)), stage_median_ns: median(rounds.map((row) => row[s.stop]!.ns_per_run)) };
  });
  const file = writeResult('bpf-parts', date, {
    date, kind: 'bpf-parts', machine, label: process.env.BENCH_LABEL ?? null, rounds: ROUNDS, iterations: ITER,
    method: 'bpf_stats run_time_ns / run_cnt of sock_send_length + sock_recv_length, nitrace.bpf.c compiled with PROFILE_STOP=k; part = stage k minus the stage before, per round',
    load_after: loadavg(), parts, raw: rounds,
  });
  console.log(`nitrace data path, cost per part (bpf_stats, ${ROUNDS} rounds), load ${machine.load_before} -> ${loadavg()}`);
  for (const p of parts) console.log(`  ${p.part.padEnd(78)}${fmtDiff(p.added_ns, 'ns')}  (stage median ${p.stage_median_ns.toFixed(0)})`);
  console.log(`  written to ${file}`);
}

main()
  .catch((e: unknown) => {
    console.error(`bpfParts: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
