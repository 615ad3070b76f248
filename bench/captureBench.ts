/**
 * captureBench: what capture costs, measured side by side in one run (never by timed unit tests).
 *
 *   node dist/bench/captureBench.js [--quick]       (root; `make bench`)
 *
 * 1. Added cost per hooked syscall: bench/syscall_loop.c doing TCP write+read pairs (traced, with payload
 *    copy) and /dev/null writes (hooked but filtered out in the kernel), without and with a capture running,
 *    in the generator's own CPU time (probes run in the caller; wall time would also count waiting for a CPU).
 * 2. Events/s the capture sustains with zero loss: the generator on CPU 1 as fast as it can, nitrace pinned to
 *    CPU 0 (agent and writer together on one core); losses from the manifest.
 * 3. Bytes per event on disk, with --snaplen 0 (before payload) and with 64-byte payloads.
 * 4. Throughput of a small HTTP server (Node, keep-alive) under wrk, without and with capture of its port.
 * Writes bench/results/capture-<time>.json and prints a table. Other eBPF tracers running at the same time
 * distort every number: the script refuses to run if it finds another nitrace agent.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../core/version.js';
import { startCapture } from '../testing/liveTestHelpers.js';
import type { CaptureManifest } from '../capture/manifest.js';

const quick = process.argv.includes('--quick');
const work = mkdtempSync(join(tmpdir(), 'nitrace-bench-'));
const loop = join(work, 'syscall_loop');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function generator(mode: 'tcp' | 'devnull', n: number, threads = 1, cpu?: number): { syscalls: number; ns: number; cpuNs: number } {
  const cmd = [loop, mode, String(n), String(threads)];
  const out = execFileSync(cpu === undefined ? cmd[0]! : 'taskset', cpu === undefined ? cmd.slice(1) : ['-c', String(cpu), ...cmd], { encoding: 'utf8' });
  const [syscalls, ns, cpuNs] = out.trim().split(' ').map(Number);
  return { syscalls: syscalls!, ns: ns!, cpuNs: cpuNs! };
}

const perSyscall = (mode: 'tcp' | 'devnull', n: number, reps: number) =>
  Array.from({ length: reps }, () => {
    const r = generator(mode, n);
    return r.cpuNs / r.syscalls; // CPU time: what the probes add to the traced process, whatever else runs
  });

function wrk(port: number, seconds: number): number {
  const out = execFileSync('wrk', ['-t1', '-c8', `-d${seconds}s`, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('captureBench needs root (it loads probes)');
  if (spawnSync('pgrep', ['-f', 'capture/agent.py']).status === 0) {
    throw new Error('another nitrace capture is running: its probes would distort every number; stop it first');
  }
  execFileSync('cc', ['-O2', '-pthread', '-o', loop, join(packageRoot, 'bench', 'syscall_loop.c')]);
  const reps = quick ? 3 : 5;
  const N = quick ? 100_000 : 300_000;
  const result: Record<string, unknown> = { date: new Date().toISOString(), quick, load_before: readFileSync('/proc/loadavg', 'utf8').trim() };

  // 1. per-syscall cost: baseline, capture, baseline again; medians.
  const base = { tcp: perSyscall('tcp', N, reps), devnull: perSyscall('devnull', N * 3, reps) };
  const cap = await startCapture(['--out', join(work, 'cost'), '--comm', 'syscall_loop']);
  const traced = { tcp: perSyscall('tcp', N, reps), devnull: perSyscall('devnull', N * 3, reps) };
  const costRun = await cap.stop();
  const after = { tcp: perSyscall('tcp', N, reps), devnull: perSyscall('devnull', N * 3, reps) };
  const costManifest = JSON.parse(readFileSync(join(work, 'cost', 'manifest.json'), 'utf8')) as CaptureManifest;
  const baseTcp = median([...base.tcp, ...after.tcp]);
  const baseDev = median([...base.devnull, ...after.devnull]);
  result.syscall_cost = {
    tcp_socket_syscall_ns: { baseline: baseTcp, traced: median(traced.tcp), added: median(traced.tcp) - baseTcp },
    devnull_write_ns: { baseline: baseDev, traced: median(traced.devnull), added: median(traced.devnull) - baseDev },
    capture_exit: costRun.code,
    events_written: costManifest.events.written,
    losses: costManifest.losses,
  };

  // 2 + 3. sustained events/s on one core, bytes per event.
  const rates: Record<string, unknown> = {};
  for (const snaplen of [0, 512]) {
    const out = join(work, `rate-${snaplen}`);
    const c = await startCapture(['--out', out, '--comm', 'syscall_loop', '--snaplen', String(snaplen), '--ring-mb', '64'], ['taskset', '-c', '0']);
    const g = generator('tcp', quick ? 200_000 : 500_000, 2, 1);
    await sleep(500);
    await c.stop();
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as CaptureManifest;
    const bytes = m.segments.reduce((s, x) => s + x.bytes, 0);
    rates[`snaplen_${snaplen}`] = {
      generated_syscalls: g.syscalls,
      generator_seconds: g.ns / 1e9,
      events_written: m.events.written,
      events_per_second: m.events.written / (g.ns / 1e9),
      lost: m.losses.ringbuf_drops + m.losses.active_map_full + (m.losses.unflushed ?? 0),
      bytes_on_disk: bytes,
      bytes_per_event: bytes / Math.max(1, m.events.written),
    };
  }
  result.throughput = rates;

  // 4. HTTP server throughput with and without capture.
  const portfile = join(work, 'port');
  const server = spawn(process.execPath, [join(packageRoot, 'bench', 'httpServer.mjs'), portfile], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(portfile); i++) await sleep(50);
  const port = Number(readFileSync(portfile, 'utf8'));
  const secs = quick ? 3 : 5;
  wrk(port, 1); // warm up
  const without = [wrk(port, secs), wrk(port, secs)];
  const hc = await startCapture(['--out', join(work, 'http'), '--port', String(port)]);
  const withCap = [wrk(port, secs), wrk(port, secs)];
  await hc.stop();
  without.push(wrk(port, secs));
  server.kill();
  const hm = JSON.parse(readFileSync(join(work, 'http', 'manifest.json'), 'utf8')) as CaptureManifest;
  result.http = {
    rps_without: median(without),
    rps_with: median(withCap),
    ratio: median(withCap) / median(without),
    runs_without: without,
    runs_with: withCap,
    events_written: hm.events.written,
    lost: hm.losses.ringbuf_drops + hm.losses.active_map_full,
  };
  result.load_after = readFileSync('/proc/loadavg', 'utf8').trim();

  mkdirSync(join(packageRoot, 'bench', 'results'), { recursive: true });
  const file = join(packageRoot, 'bench', 'results', `capture-${result.date as string}.json`.replaceAll(':', '-'));
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  const sc = result.syscall_cost as { tcp_socket_syscall_ns: { baseline: number; traced: number; added: number }; devnull_write_ns: { baseline: number; traced: number; added: number } };
  const t0 = rates.snaplen_0 as { events_per_second: number; lost: number; bytes_per_event: number };
  const t512 = rates.snaplen_512 as { events_per_second: number; lost: number; bytes_per_event: number };
  const h = result.http as { rps_without: number; rps_with: number; ratio: number };
  console.log(`nitrace capture benchmark (${quick ? 'quick' : 'full'}), load ${result.load_before as string}`);
  console.log(`  traced TCP syscall:    ${sc.tcp_socket_syscall_ns.baseline.toFixed(0)} ns -> ${sc.tcp_socket_syscall_ns.traced.toFixed(0)} ns (+${sc.tcp_socket_syscall_ns.added.toFixed(0)} ns)`);
  console.log(`  untraced file write:   ${sc.devnull_write_ns.baseline.toFixed(0)} ns -> ${sc.devnull_write_ns.traced.toFixed(0)} ns (+${sc.devnull_write_ns.added.toFixed(0)} ns)`);
  console.log(`  events/s, one core:    ${t0.events_per_second.toFixed(0)} (snaplen 0, lost ${t0.lost}), ${t512.events_per_second.toFixed(0)} (64 B payloads, lost ${t512.lost})`);
  console.log(`  bytes/event on disk:   ${t0.bytes_per_event.toFixed(1)} (no payload), ${t512.bytes_per_event.toFixed(1)} (64 B payload)`);
  console.log(`  HTTP server rps:       ${h.rps_without.toFixed(0)} -> ${h.rps_with.toFixed(0)} with capture (x${h.ratio.toFixed(3)})`);
  console.log(`  written to ${file}`);
}

main()
  .catch((e: unknown) => {
    console.error(`captureBench: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
