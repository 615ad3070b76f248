import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { release, version as osVersion, machine } from 'node:os';
import { NitraceError, UsageError } from '../core/errors.js';
import { packageRoot, version } from '../core/version.js';
import { checkPrerequisites } from './capture.js';
import { AGENT_PYTHON } from './kernelAgent.js';
import { SK_BUCKETS, SK_CM_DEPTH, SK_CM_WIDTH, writeDrain, type DrainJson } from './sketchDrain.js';
import { writeManifestFile } from './sketchManifest.js';
import type { SketchManifest } from './sketchManifest.js';

export const SKETCH_AGENT_SCRIPT = join(packageRoot, 'capture', 'sketch_agent.py');

export interface SketchCaptureOptions {
  out: string;
  force: boolean;
  pids: number[];
  comms: string[];
  ports: number[];
  netns: number[];
  /** Seconds between drains of the kernel maps (each drain is one set of Parquet files). */
  drainSeconds: number;
  duration: number;
  command: string[];
  node: string;
  log: (line: string) => void;
}

/** The agent's copy of the final drain (capture/sketch_agent.py): left in DIR only if Node died before storing it. */
export const SKETCH_FINAL_FILE = 'agent-final.json';

export function sketchAgentConfig(o: Pick<SketchCaptureOptions, 'pids' | 'comms' | 'ports' | 'netns' | 'drainSeconds'>, excludePids: number[], salt: string, finalPath: string | null = null) {
  return { pids: o.pids, comms: o.comms, ports: o.ports, netns: o.netns, exclude_pids: excludePids, salt, drain_seconds: o.drainSeconds, final_path: finalPath };
}

function validate(o: SketchCaptureOptions): void {
  for (const p of o.ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError('capture', `--port ${p}: not a TCP port`);
  for (const p of o.pids) if (!Number.isInteger(p) || p < 1) throw new UsageError('capture', `--pid ${p}: not a process id`);
  for (const n of o.netns) if (!Number.isInteger(n) || n < 1) throw new UsageError('capture', `--netns ${n}: not a namespace inode`);
  for (const c of o.comms) if (!c || c.length > 15) throw new UsageError('capture', `--comm '${c}': a process name has 1 to 15 characters`);
  if (!(o.drainSeconds >= 0.1 && o.drainSeconds <= 3600)) throw new UsageError('capture', `--drain-seconds must be in [0.1, 3600], got ${o.drainSeconds}`);
  if (o.duration < 0) throw new UsageError('capture', '--duration must be >= 0');
}

/**
 * `nitrace capture --mode sketch`: the kernel aggregates (capture/sketch.bpf.c), the agent drains the maps every
 * --drain-seconds, and each drain becomes four small Parquet files in DIR/sketch/ next to DIR/manifest.json
 * (format 'nitrace-sketch-capture'). Stops like a full capture: command exit, --duration, SIGINT or SIGTERM; the
 * agent drains once more on the way out, so the last files hold the totals of the whole capture.
 */
export async function runSketchCapture(o: SketchCaptureOptions): Promise<{ manifest: SketchManifest; exitCode: number }> {
  validate(o);
  checkPrerequisites();
  const out = resolve(o.out);
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!o.force) throw new UsageError('capture', `--out ${out} is not empty; choose a new directory or pass --force to replace the capture in it`);
    for (const e of ['sketch', 'manifest.json', 'events', 'processes.parquet', 'agent-stats.json', SKETCH_FINAL_FILE]) rmSync(join(out, e), { recursive: true, force: true });
  }
  mkdirSync(join(out, 'sketch'), { recursive: true });
  const salt = BigInt(`0x${randomBytes(8).toString('hex')}`) & 0x7fffffffffffffffn;
  const manifest: SketchManifest = {
    format: 'nitrace-sketch-capture',
    schema_version: 1,
    nitrace_version: version,
    status: 'running',
    error: null,
    node: o.node,
    kernel: { release: release(), version: osVersion(), machine: machine() },
    config: { pids: o.pids, comms: o.comms, ports: o.ports, netns: o.netns, drain_seconds: o.drainSeconds, command: o.command.length ? o.command : null },
    sketch: {
      latency_buckets: `${SK_BUCKETS} log2 buckets of ns: bucket b >= 1 holds [2^(b-1), 2^b), bucket 0 holds 0`,
      countmin: { depth: SK_CM_DEPTH, width: SK_CM_WIDTH, key: '(pid, remote address, remote port)', hash: 'splitmix64 (capture/sketch.bpf.c)' },
    },
    agent: null,
    started_at: new Date().toISOString(),
    stopped_at: null,
    drains: [],
    bytes_on_disk: 0,
    counters: {},
    loss: null,
  };
  writeManifestFile(out, manifest);

  const agent = spawn(AGENT_PYTHON, [SKETCH_AGENT_SCRIPT, JSON.stringify(sketchAgentConfig(o, [process.pid], salt.toString(), join(out, SKETCH_FINAL_FILE)))], {
    stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
  });
  let failure: string | null = null;
  let ready: () => void = () => {};
  const readyP = new Promise<void>((r) => (ready = r));
  createInterface({ input: agent.stdio[3] as NodeJS.ReadableStream }).on('line', (line) => {
    let msg: { type: string; pid?: number; probes?: number; message?: string; stage?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.type === 'ready') {
      manifest.agent = { pid: msg.pid!, probes: msg.probes! };
      ready();
    } else if (msg.type === 'error') {
      failure = `sketch agent failed (${msg.stage}): ${msg.message}`;
      ready();
    }
  });
  // Each stdout line is one drain; files are written in order, one drain at a time. A drain that cannot be
  // stored (a line cut short by the agent's death, a write error) is reported and skipped: the earlier drains
  // stay, and the drains are running totals, so a later one covers it.
  let writing = Promise.resolve();
  const storeDrain = async (d: DrainJson) => {
    const bytes = await writeDrain(out, o.node, d);
    manifest.drains.push({ seq: d.seq, final: d.final, realtime_ns: d.clock.realtime_ns, monotonic_ns: d.clock.monotonic_ns, conns: d.conns.length, procs: d.procs.length, bytes });
    manifest.counters = d.counters;
    manifest.bytes_on_disk += bytes;
    writeManifestFile(out, manifest);
  };
  createInterface({ input: agent.stdout! }).on('line', (line) => {
    writing = writing.then(async () => {
      try {
        await storeDrain(JSON.parse(line) as DrainJson);
      } catch (e) {
        o.log(`nitrace capture: a drain of the sketch agent was not stored (${(e as Error).message.slice(0, 200)})`);
      }
    });
  });
  const agentExit = new Promise<{ code: number; signal: NodeJS.Signals | null }>((r) =>
    agent.on('close', (code, signal) => r({ code: code ?? (signal ? 128 : 1), signal })),
  );
  const started = await Promise.race([readyP.then(() => 'ready'), agentExit.then((c) => `exit ${c.code}`)]);
  if (started !== 'ready' || failure) {
    manifest.status = 'failed';
    manifest.error = failure ?? `sketch agent exited (${started}) before attaching its probes (compile the program with \`nitrace capture --mode sketch --ebpf\`)`;
    manifest.stopped_at = new Date().toISOString();
    writeManifestFile(out, manifest);
    agent.kill('SIGKILL');
    throw new NitraceError('capture', manifest.error, 1);
  }
  writeManifestFile(out, manifest); // with the agent's pid, while it runs

  let exitCode = 0;
  let stopping = false;
  await new Promise<void>((done) => {
    let child: ReturnType<typeof spawn> | null = null;
    const finish = () => {
      stopping = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (timer) clearTimeout(timer);
      done();
    };
    const onSignal = (sig: NodeJS.Signals) => (child && child.exitCode === null ? child.kill(sig) : finish());
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = o.duration > 0 ? setTimeout(() => (child && child.exitCode === null ? child.kill('SIGTERM') : finish()), o.duration * 1000) : null;
    void agentExit.then(() => {
      if (stopping) return;
      failure ??= 'sketch agent exited while capturing';
      finish();
    });
    if (o.command.length) {
      o.log(`nitrace capture: tracing (sketch mode); running ${o.command.join(' ')}`);
      child = spawn(o.command[0]!, o.command.slice(1), { stdio: 'inherit' });
      child.on('error', (e) => {
        failure = `cannot run ${o.command[0]}: ${e.message}`;
        finish();
      });
      child.on('exit', (code, signal) => {
        exitCode = code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 9);
        finish();
      });
    } else o.log(`nitrace capture: tracing (sketch mode)${o.duration ? ` for ${o.duration} s` : ''}; Ctrl-C to stop`);
  });
  if (agent.exitCode === null) agent.kill('SIGTERM');
  const agentEnd = await agentExit;
  await writing;
  if (agentEnd.code !== 0) failure ??= `sketch agent exited with code ${agentEnd.code}`;
  // The final drain never arrived on stdout (cut short, unparsable): the agent's own copy of it, if it wrote one
  if (!manifest.drains.at(-1)?.final && existsSync(join(out, SKETCH_FINAL_FILE))) {
    try {
      await storeDrain(JSON.parse(readFileSync(join(out, SKETCH_FINAL_FILE), 'utf8')) as DrainJson);
    } catch (e) {
      o.log(`nitrace capture: ${SKETCH_FINAL_FILE} could not be stored (${(e as Error).message.slice(0, 200)}); it stays in ${out}`);
    }
  }
  // the final drain is in Parquet now: the agent's copy of it (kept for a Node killed before this point) goes
  if (manifest.drains.at(-1)?.final) rmSync(join(out, SKETCH_FINAL_FILE), { force: true });
  else {
    const last = manifest.drains.at(-1);
    manifest.loss = {
      cause: agentEnd.signal ? `the sketch agent was killed (${agentEnd.signal}) before its final drain` : `the sketch agent exited (code ${agentEnd.code}) without a final drain`,
      counted_until: last ? { drain_seq: last.seq, realtime_ns: last.realtime_ns } : null,
      missing: last
        ? `socket calls, bytes, exchanges and latencies after drain ${last.seq} (${new Date(Number(BigInt(last.realtime_ns) / 1_000_000n)).toISOString()}) until the capture stopped; drains 1..${last.seq} are complete running totals up to their time`
        : 'everything: no drain was stored',
    };
    failure ??= manifest.loss.cause;
  }
  manifest.status = failure ? 'failed' : 'complete';
  manifest.error = failure;
  manifest.stopped_at = new Date().toISOString();
  writeManifestFile(out, manifest);
  const files = readdirSync(join(out, 'sketch')).filter((f) => f.endsWith('.parquet'));
  o.log(
    `nitrace capture: ${manifest.status}; ${manifest.drains.length} drains, ${files.length} files, ${files.reduce((n, f) => n + statSync(join(out, 'sketch', f)).size, 0)} bytes in ${join(out, 'sketch')}`,
  );
  if (failure) {
    if (o.command.length) return { manifest, exitCode: exitCode || 1 };
    throw new NitraceError('capture', failure, 1);
  }
  return { manifest, exitCode };
}
