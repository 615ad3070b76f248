/**
 * openstackBench: what `nitrace capture`, configured as a Tempest recording configures it, costs OpenStack itself.
 *
 *   make bench-openstack [BENCH_FLAGS=--quick]      (root, the lab up; the Makefile holds the lab lock)
 *   node dist/bench/openstack/openstackBench.js [--quick] [--pairs N] [--seconds S] [--apis a,b] [--loads rate,saturation] [--nice N[,M]]
 *
 * For each API (keystone token issue, glance image list, nova server list) and each load (a fixed open-loop rate of
 * about half the saturation throughput measured at the start of the session; and saturation, a closed loop of 8
 * concurrent requests), runs N pairs of blocks, one without and one with the capture, order alternating between
 * pairs (off/on, on/off, ...). The client measures latency (bench/openstack/loadClient.ts). Per block /proc gives the
 * CPU time of the host, of the lab's daemons, of the capture's own processes and of the client.
 *
 * Why these measures beat the block-to-block noise of a shared machine: at a fixed rate the offered work is the same
 * in every block, so latency and CPU per request compare directly; CPU per request (from /proc, per process) is
 * nearly independent of what other jobs run, unlike throughput; and every on-block is compared with its
 * neighbouring off-block only, the interval taken over pairs (bench/stats.ts).
 *
 * Output: bench/results/openstack-<time>.json; keys `openstack_throughput_ratio`, `openstack_p99_ratio` and
 * `capture_cpu_share` (each with value, ci_low, ci_high) at the top (pooled) and per API and load.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../core/version.js';
import { startBackgroundCapture, type BackgroundCapture } from '../../capture/backgroundCapture.js';
import { machineInfo, loadavg, writeResult } from '../machine.js';
import { withBpfStatsOff } from '../bpfStats.js';
import { hostCpu, processTree, cpuOf, cpuDelta } from '../procCpu.js';
import { bootstrap, geomean, mean, pairedRatio, sortedQuantile, fmtRatio, type Interval } from '../stats.js';
import { readOpenrc, issueToken, apiRequest, API_NAMES, type ApiName, type LabCredentials } from './labApis.js';
import type { LoadSpec, LoadResult } from './loadClient.js';

type Load = 'rate' | 'saturation';
const LOADS: Load[] = ['rate', 'saturation'];

interface Options {
  quick: boolean;
  pairs: number;
  seconds: number;
  warmup: number;
  calibrateSeconds: number;
  concurrency: number;
  rateFraction: number;
  apis: ApiName[];
  loads: Load[];
  lab: string;
  /**
   * `nitrace capture --nice` of the capture-on blocks (0: the normal priority). Several values: each pair has one
   * capture-on block per value beside its off block, so they compare in the same window; the first is the headline.
   */
  nices: number[];
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const val = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const o: Options = {
    quick,
    pairs: Number(val('--pairs') ?? (quick ? 2 : 6)),
    seconds: Number(val('--seconds') ?? (quick ? 10 : 30)),
    warmup: Number(val('--warmup') ?? (quick ? 2 : 3)),
    calibrateSeconds: Number(val('--calibrate-seconds') ?? (quick ? 6 : 15)),
    concurrency: Number(val('--concurrency') ?? 8),
    rateFraction: Number(val('--rate-fraction') ?? 0.5),
    apis: (val('--apis')?.split(',') ?? [...API_NAMES]) as ApiName[],
    loads: (val('--loads')?.split(',') ?? LOADS) as Load[],
    lab: process.env.LAB ?? '/var/lib/nitrace-lab',
    nices: (val('--nice') ?? '0').split(',').map(Number),
  };
  for (const a of o.apis) if (!API_NAMES.includes(a)) throw new Error(`--apis: unknown API '${a}' (known: ${API_NAMES.join(', ')})`);
  for (const l of o.loads) if (!LOADS.includes(l)) throw new Error(`--loads: unknown load '${l}' (known: ${LOADS.join(', ')})`);
  if (!o.nices.every((n) => Number.isInteger(n) && n >= 0 && n <= 19)) throw new Error('--nice: integers from 0 to 19, comma-separated');
  if (!(o.pairs >= 1 && o.seconds > 0)) throw new Error('--pairs must be >= 1 and --seconds > 0');
  return o;
}

/** The capture options of a Tempest recording (datasets/openstack/record-tempest.sh --print-capture-args). */
function recordingCaptureArgs(): string[] {
  const script = join(packageRoot, 'datasets', 'openstack', 'record-tempest.sh');
  const r = spawnSync('bash', [script, '--print-capture-args'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} --print-capture-args failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** The lab's daemons: pid files in $LAB/run and every descendant (uWSGI and glance workers). */
function labDaemonPids(lab: string): number[] {
  const run = join(lab, 'run');
  const roots: number[] = [];
  for (const f of readdirSync(run)) {
    if (!f.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(run, f), 'utf8').trim());
    if (pid > 0) roots.push(pid);
  }
  return processTree(roots);
}

/** Other nitrace captures running now (their probes slow every syscall on the host): "pid cmdline" of their agents. */
function otherCaptures(ours: number[]): string[] {
  const r = spawnSync('pgrep', ['-af', 'capture/agent.py'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).filter((l) => !ours.includes(Number(l.split(' ')[0]))).map((l) => l.slice(0, 120));
}

interface BlockRecord {
  api: ApiName;
  load: Load;
  pair: number;
  capture: boolean;
  /** The capture's --nice in a capture-on block; null in an off block. */
  nice: number | null;
  started_at: string;
  loadavg: string;
  offered_rate: number | null;
  concurrency: number | null;
  window_s: number;
  throughput: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
  errors: Record<string, number>;
  send_lag_ms: LoadResult['send_lag_ms'];
  host_busy_cpu_s: number;
  lab_cpu_s: number;
  capture_cpu_s: number;
  client_cpu_s: number;
  capture_events: number | null;
  capture_losses: Record<string, number | null> | null;
  other_captures: string[];
  /** Seconds from the end of the block until the capture had written everything and exited (what it still had queued). */
  capture_stop_s: number | null;
}

/** Runs loadClient in a child process; reads CPU counters when it marks the start and end of its window. */
async function runBlock(spec: LoadSpec, pidsToWatch: () => { lab: number[]; capture: number[] }): Promise<{ result: LoadResult; cpu: { host: number; lab: number; capture: number } }> {
  const child = spawn(process.execPath, [join(packageRoot, 'dist', 'bench', 'openstack', 'loadClient.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  let before: { host: number; lab: Map<number, number>; capture: Map<number, number> } | null = null;
  let cpu = { host: 0, lab: 0, capture: 0 };
  let result: LoadResult | null = null;
  const sample = () => {
    const p = pidsToWatch();
    return { host: hostCpu().busyNs, lab: cpuOf(p.lab), capture: cpuOf(p.capture) };
  };
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'window-start') before = sample();
      else if (line === 'window-end' && before) {
        const after = sample();
        cpu = { host: after.host - before.host, lab: cpuDelta(before.lab, after.lab), capture: cpuDelta(before.capture, after.capture) };
      } else if (line.startsWith('{')) result = JSON.parse(line) as LoadResult;
    }
  });
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
  if (code !== 0 || !result) throw new Error(`loadClient failed (exit ${code}) for ${spec.method} ${spec.url}`);
  return { result, cpu };
}

interface PairStats {
  pairs: number;
  openstack_throughput_ratio: Interval;
  openstack_p50_ratio: Interval;
  openstack_p99_ratio: Interval;
  lab_cpu_per_request_ratio: Interval;
  lab_and_capture_cpu_per_request_ratio: Interval;
  host_cpu_per_request_ratio: Interval;
  capture_cpu_share: Interval;
  capture_cpu_share_of_host: Interval;
  medians: Record<string, number>;
  errors: number;
  capture_losses: number;
}

/** Ratios and shares over the pairs of one API and load (or pooled over several). */
function summarize(blocks: BlockRecord[]): PairStats {
  const pairs: { off: BlockRecord; on: BlockRecord }[] = [];
  const key = (b: BlockRecord) => `${b.api}/${b.load}/${b.pair}`;
  const byKey = new Map<string, { off?: BlockRecord; on?: BlockRecord }>();
  for (const b of blocks) {
    const e = byKey.get(key(b)) ?? {};
    if (b.capture) e.on = b;
    else e.off = b;
    byKey.set(key(b), e);
  }
  for (const e of byKey.values()) if (e.on && e.off) pairs.push({ off: e.off, on: e.on });
  const ratio = (f: (b: BlockRecord) => number): Interval => pairedRatio(pairs.map((p) => ({ off: f(p.off), on: f(p.on) })));
  const perReq = (cpu: (b: BlockRecord) => number) => (b: BlockRecord) => cpu(b) / Math.max(1, b.throughput * b.window_s);
  const ons = pairs.map((p) => p.on);
  return {
    pairs: pairs.length,
    openstack_throughput_ratio: ratio((b) => b.throughput),
    openstack_p50_ratio: ratio((b) => b.p50_ms),
    openstack_p99_ratio: ratio((b) => b.p99_ms),
    // CPU per answered request: the cost where it lands, nearly independent of what else runs on the machine.
    lab_cpu_per_request_ratio: ratio(perReq((b) => b.lab_cpu_s)),
    lab_and_capture_cpu_per_request_ratio: ratio(perReq((b) => b.lab_cpu_s + b.capture_cpu_s)),
    host_cpu_per_request_ratio: ratio(perReq((b) => b.host_busy_cpu_s)),
    // The capture's own processes (agent + writer) relative to the lab daemons' CPU in the same block.
    capture_cpu_share: bootstrap(ons.map((b) => b.capture_cpu_s / b.lab_cpu_s), mean, 'the mean over capture-on blocks of capture CPU / lab daemons CPU', 'capture-on blocks'),
    capture_cpu_share_of_host: bootstrap(ons.map((b) => b.capture_cpu_s / b.host_busy_cpu_s), mean, 'the mean over capture-on blocks of capture CPU / host busy CPU', 'capture-on blocks'),
    medians: {
      throughput_off: geomean(pairs.map((p) => p.off.throughput)),
      throughput_on: geomean(pairs.map((p) => p.on.throughput)),
      p50_ms_off: geomean(pairs.map((p) => p.off.p50_ms)),
      p50_ms_on: geomean(pairs.map((p) => p.on.p50_ms)),
      p99_ms_off: geomean(pairs.map((p) => p.off.p99_ms)),
      p99_ms_on: geomean(pairs.map((p) => p.on.p99_ms)),
    },
    errors: blocks.reduce((s, b) => s + Object.values(b.errors).reduce((a, x) => a + x, 0), 0),
    capture_losses: ons.reduce((s, b) => s + Object.values(b.capture_losses ?? {}).reduce<number>((a, x) => a + (x ?? 0), 0), 0),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench-openstack needs root (it loads probes)');
  const creds: LabCredentials = readOpenrc(o.lab);
  const captureArgs = recordingCaptureArgs();
  const work = mkdtempSync(join(tmpdir(), 'nitrace-bench-os-'));
  const date = new Date().toISOString();
  const machine = machineInfo();
  const blocks: BlockRecord[] = [];
  const calibration: Record<string, unknown> = {};
  const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
  log(`bench-openstack${o.quick ? ' --quick' : ''}: ${o.apis.length} APIs x ${o.loads.length} loads x ${o.pairs} pairs of ${o.seconds} s blocks; capture ${captureArgs.join(' ')}`);
  let capture: BackgroundCapture | null = null;
  let error: string | null = null; // a failure mid-run still writes the blocks measured so far
  // Every BPF program timing itself would add its clock reads to the capture-on blocks only: off while measuring.
  const { bpf_stats_enabled_found } = await withBpfStatsOff(async () => {
    try {
      for (const api of o.apis) {
        let cat = await issueToken(creds);
        const base = (): Omit<LoadSpec, 'mode'> => ({ ...apiRequest(api, creds, cat), warmupSeconds: o.warmup, seconds: o.seconds, timeoutMs: 30_000 });
        const watchLab = () => ({ lab: labDaemonPids(o.lab), capture: capture?.child.pid ? processTree([capture.child.pid]) : [] });
        // Calibration: saturation throughput without capture, to set the fixed rate.
        const cal = await runBlock({ ...base(), mode: 'closed', concurrency: o.concurrency, seconds: o.calibrateSeconds }, watchLab);
        const rate = Math.max(0.2, Math.round(cal.result.throughput * o.rateFraction * 10) / 10); // keystone token issue can be ~1 req/s (bcrypt)
        calibration[api] = { saturation_throughput: cal.result.throughput, fixed_rate: rate, errors: cal.result.errors, loadavg: loadavg() };
        log(`${api}: saturation ${cal.result.throughput.toFixed(1)} req/s -> fixed rate ${rate} req/s`);
        for (const load of o.loads) {
          for (let pair = 0; pair < o.pairs; pair++) {
            // Blocks of a pair: off, then one per --nice value, rotated by one each pair (off/on, on/off, ... for one value).
            const arms: (number | null)[] = [null, ...o.nices];
            const order = arms.map((_, i) => arms[(i + pair) % arms.length]!);
            for (const nice of order) {
              const on = nice !== null;
              cat = await issueToken(creds); // fresh token per block (tokens expire; each block pays its first validation alike)
              let manifestPath: string | null = null;
              if (on) {
                const out = join(work, `cap-${api}-${load}-${pair}`);
                capture = await startBackgroundCapture(['--out', out, ...captureArgs, ...(nice ? ['--nice', String(nice)] : []), '--force'], [], 300_000);
                manifestPath = join(out, 'manifest.json');
              }
              await sleep(2000); // settle (compile/attach burst, or the previous capture's exit)
              const spec: LoadSpec = load === 'rate' ? { ...base(), mode: 'rate', rate } : { ...base(), mode: 'closed', concurrency: o.concurrency };
              const started_at = new Date().toISOString();
              const la = loadavg();
              const others = otherCaptures(capture ? processTree([capture.child.pid!]) : []);
              const { result, cpu } = await runBlock(spec, watchLab);
              let events: number | null = null;
              let losses: Record<string, number | null> | null = null;
              let stopS: number | null = null;
              if (capture) {
                const stopStart = performance.now();
                await capture.stop();
                stopS = (performance.now() - stopStart) / 1000;
                capture = null;
                if (manifestPath && existsSync(manifestPath)) {
                  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { events: { written: number }; losses: Record<string, number | null> };
                  events = m.events.written;
                  losses = m.losses;
                }
                rmSync(join(manifestPath!, '..'), { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
              }
              const lat = Float64Array.from(result.latencies_ms).sort();
              const b: BlockRecord = {
                api, load, pair, capture: on, nice, started_at, loadavg: la,
                offered_rate: load === 'rate' ? rate : null, concurrency: load === 'rate' ? null : o.concurrency,
                window_s: result.window_seconds, throughput: result.throughput, requests: lat.length,
                p50_ms: sortedQuantile(lat, 0.5), p99_ms: sortedQuantile(lat, 0.99),
                errors: result.errors, send_lag_ms: result.send_lag_ms,
                host_busy_cpu_s: cpu.host / 1e9, lab_cpu_s: cpu.lab / 1e9, capture_cpu_s: cpu.capture / 1e9, client_cpu_s: result.client_cpu_ns / 1e9,
                capture_events: events, capture_losses: losses, other_captures: others, capture_stop_s: stopS,
              };
              blocks.push(b);
              log(`${api} ${load} pair ${pair} ${on ? `ON${nice ? ` nice ${nice}` : ''} ` : 'off'}: ${b.throughput.toFixed(1)} req/s, p50 ${b.p50_ms.toFixed(1)} ms, p99 ${b.p99_ms.toFixed(1)} ms, lab CPU ${b.lab_cpu_s.toFixed(2)} s, host CPU ${b.host_busy_cpu_s.toFixed(2)} s, capture CPU ${b.capture_cpu_s.toFixed(2)} s${stopS !== null ? `, stop ${stopS.toFixed(1)} s` : ''}${events !== null ? `, ${events} events` : ''}${others.length ? `, OTHER CAPTURES RUNNING: ${others.map((x) => x.split(' ')[0]).join(' ')}` : ''}`);
            }
          }
        }
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      log(`stopped early: ${error}`);
    } finally {
      if (capture) await capture.stop();
      rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  });
  if (blocks.length === 0) throw new Error(error ?? 'no block measured');

  // Off blocks with the capture-on blocks of one --nice value: what summarize pairs.
  const arm = (nice: number) => blocks.filter((b) => !b.capture || b.nice === nice);
  const headline = arm(o.nices[0]!);
  const per: Record<string, PairStats> = {};
  for (const api of o.apis) for (const load of o.loads) per[`${api}/${load}`] = summarize(headline.filter((b) => b.api === api && b.load === load));
  const sat = summarize(headline.filter((b) => b.load === 'saturation'));
  const fixed = summarize(headline.filter((b) => b.load === 'rate'));
  const all = summarize(headline);
  const byNice: Record<string, Record<string, PairStats>> = {};
  if (o.nices.length > 1) {
    for (const n of o.nices) {
      byNice[String(n)] = {};
      for (const api of o.apis) for (const load of o.loads) byNice[String(n)]![`${api}/${load}`] = summarize(arm(n).filter((b) => b.api === api && b.load === load));
    }
  }
  const result = {
    date,
    kind: 'bench-openstack',
    quick: o.quick,
    label: process.env.BENCH_LABEL ?? null,
    error,
    machine,
    bpf_stats_enabled_found, // restored after the run; the blocks ran with kernel.bpf_stats_enabled=0
    load_after: loadavg(),
    config: { ...o, capture_args: captureArgs, lab: o.lab },
    definitions: {
      openstack_throughput_ratio: 'saturation (closed loop, concurrency 8): answered requests/s with capture / without, geometric mean of per-pair ratios, all APIs pooled',
      openstack_p99_ratio: 'fixed rate (open loop, ~half of saturation): client-measured p99 latency with capture / without, geometric mean of per-pair ratios, all APIs pooled',
      capture_cpu_share: "CPU time of the capture's own processes (agent + writer) / CPU time of the lab's daemons in the same capture-on block, mean over all capture-on blocks",
      ci: 'ci_low/ci_high: 95 % percentile bootstrap over pairs (bench/stats.ts)',
    },
    targets: { openstack_throughput_ratio: 'ci_low >= 0.99', openstack_p99_ratio: 'ci_high <= 1.01' },
    openstack_throughput_ratio: sat.openstack_throughput_ratio,
    openstack_p99_ratio: fixed.openstack_p99_ratio,
    capture_cpu_share: all.capture_cpu_share,
    pooled: { saturation: sat, rate: fixed },
    per_api_and_load: per,
    // With several --nice values: the same summaries per value (each against the same off blocks); per_api_and_load is the first.
    per_nice: o.nices.length > 1 ? byNice : undefined,
    calibration,
    blocks,
  };
  const file = writeResult('openstack', date, result);
  console.log(`nitrace bench-openstack${o.quick ? ' (quick)' : ''}, ${o.pairs} pairs x ${o.seconds} s, load ${machine.load_before} -> ${result.load_after}`);
  console.log(`  ${'API / load'.padEnd(34)}${['throughput on/off', 'p50 on/off', 'p99 on/off', 'lab CPU/req on/off'].map((h) => h.padEnd(23)).join('')}capture CPU share`);
  const rows = o.nices.length > 1 ? Object.entries(byNice).flatMap(([n, m]) => Object.entries(m).map(([k, v]) => [`${k} nice ${n}`, v] as const)) : Object.entries(per);
  for (const [k, s] of rows) {
    const f = (x: Interval) => fmtRatio(x).padEnd(23);
    const share = s.capture_cpu_share;
    console.log(`  ${k.padEnd(34)}${f(s.openstack_throughput_ratio)}${f(s.openstack_p50_ratio)}${f(s.openstack_p99_ratio)}${f(s.lab_cpu_per_request_ratio)}${(100 * share.value).toFixed(2)} % [${(100 * share.ci_low).toFixed(2)}, ${(100 * share.ci_high).toFixed(2)}]`);
  }
  const t = result.openstack_throughput_ratio;
  const p = result.openstack_p99_ratio;
  const c = result.capture_cpu_share;
  console.log(`  openstack_throughput_ratio (saturation, pooled): ${fmtRatio(t)}   target: within 1 % (ci_low >= 0.99): ${t.ci_low >= 0.99 ? 'met' : 'NOT met'}`);
  console.log(`  openstack_p99_ratio (fixed rate, pooled):        ${fmtRatio(p)}   target: within 1 % (ci_high <= 1.01): ${p.ci_high <= 1.01 ? 'met' : 'NOT met'}`);
  console.log(`  capture_cpu_share (all on-blocks):               ${(100 * c.value).toFixed(2)} % [${(100 * c.ci_low).toFixed(2)}, ${(100 * c.ci_high).toFixed(2)}]`);
  console.log(`  written to ${file}`);
  if (error) {
    console.error(`bench-openstack: incomplete run (${error})`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(`bench-openstack: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
