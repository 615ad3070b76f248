import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { hostname, release, version as osVersion, machine } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NitraceError, UsageError } from '../core/errors.js';
import { KernelAgent, AGENT_PYTHON, type AgentConfig } from './kernelAgent.js';
import { PayloadRedactor, redactArgv } from './redact.js';
import { SegmentWriter } from './segmentWriter.js';
import { SegmentPipeline, diskError } from './segmentPipeline.js';
import { waitForEnd } from './waitForEnd.js';
import { YieldingPriority } from './yieldingPriority.js';
import { ProcessTable } from './processTable.js';
import { writeManifest, startManifest, finishManifest, type CaptureManifest } from './manifest.js';
import { MAX_SNAPLEN } from './eventLayout.js';

export interface CaptureOptions {
  out: string;
  force: boolean;
  pids: number[];
  comms: string[];
  ports: number[];
  netns: number[];
  snaplen: number;
  /** --snaplen-port PORT=N: payload bytes kept for sockets with this local or remote port. */
  snaplenPorts: Map<number, number>;
  /** Attach the greenlet uprobes (gid on every event, green_spawn events). */
  greenlet: boolean;
  /** Seconds; 0 = until signal or command exit. */
  duration: number;
  /** Command to run while capturing (`-- CMD ARGS`); empty for none. */
  command: string[];
  node: string;
  redact: boolean;
  segmentMaxBytes: number;
  segmentMaxSeconds: number;
  ringBufferBytes: number;
  /**
   * Nice value of the capture's own user-space work once tracing (0: the normal priority; see YieldingPriority).
   * Optional so that callers from before it keep the normal priority.
   */
  nice?: number;
  /** Progress and summary lines on stderr. */
  log: (line: string) => void;
}

export interface CaptureResult {
  manifest: CaptureManifest;
  /** The command's exit code with `-- CMD`, else 0 (or 1 if the capture failed). */
  exitCode: number;
}

export { SPOOL_SUFFIX } from './segmentPipeline.js';

/** Checks that can fail before anything is written, each with what to do about it. */
export function checkPrerequisites(): void {
  if (process.getuid?.() !== 0) {
    throw new NitraceError('capture', 'loading eBPF probes needs root: run nitrace capture as root (e.g. with sudo)', 3);
  }
  if (spawnSync(AGENT_PYTHON, ['-c', 'import bcc'], { stdio: 'ignore' }).status !== 0) {
    throw new NitraceError('capture', `BCC is not installed for ${AGENT_PYTHON}: run \`make kernel-deps\` (apt-get install bpfcc-tools python3-bpfcc linux-headers-amd64)`, 3);
  }
  const build = `/lib/modules/${release()}/build`;
  if (!existsSync(join(build, 'include'))) {
    throw new NitraceError('capture', `no kernel headers at ${build}: run \`make kernel-deps\` (links the Debian linux-headers package there)`, 3);
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new NitraceError('capture', 'this kernel has no BTF (/sys/kernel/btf/vmlinux): nitrace reads struct offsets from it', 3);
  }
}

export function validateOptions(o: CaptureOptions): void {
  if (!Number.isInteger(o.snaplen) || o.snaplen < 0 || o.snaplen > MAX_SNAPLEN) {
    throw new UsageError('capture', `--snaplen must be an integer from 0 to ${MAX_SNAPLEN}, got ${o.snaplen}`);
  }
  for (const [p, n] of o.snaplenPorts) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError('capture', `--snaplen-port ${p}=${n}: ${p} is not a TCP port`);
    if (!Number.isInteger(n) || n < 0 || n > MAX_SNAPLEN) throw new UsageError('capture', `--snaplen-port ${p}=${n}: the size must be an integer from 0 to ${MAX_SNAPLEN}`);
  }
  if (o.nice !== undefined && (!Number.isInteger(o.nice) || o.nice < 0 || o.nice > 19)) throw new UsageError('capture', `--nice must be an integer from 0 to 19, got ${o.nice}`);
  for (const p of o.ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError('capture', `--port ${p}: not a TCP port`);
  for (const p of o.pids) if (!Number.isInteger(p) || p < 1) throw new UsageError('capture', `--pid ${p}: not a process id`);
  for (const n of o.netns) if (!Number.isInteger(n) || n < 1) throw new UsageError('capture', `--netns ${n}: not a namespace inode (see \`ls -Li /proc/PID/ns/net\`)`);
  for (const c of o.comms) if (!c || c.length > 15) throw new UsageError('capture', `--comm '${c}': a process name has 1 to 15 characters`);
  if (o.duration < 0) throw new UsageError('capture', '--duration must be >= 0');
  const pages = o.ringBufferBytes / 4096;
  if (!Number.isInteger(pages) || pages < 16 || (pages & (pages - 1)) !== 0) {
    throw new UsageError('capture', '--ring-mb must give a power-of-two number of 4 KiB pages (e.g. 4, 8, 16, 32)');
  }
}

/** Refuse a non-empty output directory unless --force (then remove only what a capture writes). */
export function prepareOutDir(out: string, force: boolean): void {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !force) {
      throw new UsageError('capture', `--out ${out} is not empty; choose a new directory or pass --force to replace the capture in it`);
    }
    if (force) for (const e of ['events', 'manifest.json', 'processes.parquet', 'agent-stats.json']) rmSync(join(out, e), { recursive: true, force: true });
  }
  mkdirSync(join(out, 'events'), { recursive: true });
}

/**
 * Runs one capture, in four parts: the manifest (capture/manifest.ts: started, rewritten after every segment,
 * finished), segment rotation and back-pressure (capture/segmentPipeline.ts), waiting for the end
 * (capture/waitForEnd.ts: command exit, --duration, SIGINT/SIGTERM, agent exit, failure), and finalisation (drain
 * the agent, write the last segment, `finishManifest`). Nothing is half-written: segments appear only complete,
 * the manifest is replaced atomically.
 */
export async function runCapture(o: CaptureOptions): Promise<CaptureResult> {
  validateOptions(o);
  checkPrerequisites();
  const out = resolve(o.out);
  prepareOutDir(out, o.force);

  const manifest = startManifest(o.node, { release: release(), version: osVersion(), machine: machine() }, {
    snaplen: o.snaplen, snaplen_ports: Object.fromEntries(o.snaplenPorts), greenlet: o.greenlet, redact: o.redact, pids: o.pids, comms: o.comms, ports: o.ports, netns: o.netns,
    command: o.command.length ? (o.redact ? redactArgv(o.command) : o.command) : null, segment_max_bytes: o.segmentMaxBytes,
    segment_max_seconds: o.segmentMaxSeconds, ring_buffer_bytes: o.ringBufferBytes, nice: o.nice ?? 0,
  });
  writeManifest(out, manifest);

  let failure: string | null = null;
  const fail = (message: string): void => {
    if (!failure) {
      failure = message;
      o.log(`nitrace capture: ${message}`);
    }
  };
  let pauseAgent: (paused: boolean) => void = () => {};
  const pipeline = new SegmentPipeline({
    out, manifest, redactor: o.redact ? new PayloadRedactor() : null, segmentMaxBytes: o.segmentMaxBytes,
    segmentMaxSeconds: o.segmentMaxSeconds, processes: new ProcessTable(o.redact), pause: (p) => pauseAgent(p), fail,
  });

  o.log(`nitrace capture: compiling and attaching probes (a few seconds)...`);
  let agent: KernelAgent;
  try {
    agent = await KernelAgent.start(agentConfig(o, out), (chunk) => pipeline.push(chunk));
  } catch (e) {
    finishManifest(manifest, { stats: null, stopClock: null, greenlet: null, decoderMalformed: 0, failure: e instanceof Error ? e.message : String(e), interrupted: false });
    writeManifest(out, manifest);
    throw e;
  }
  manifest.agent = { pid: agent.pid, probes: agent.probes };
  manifest.greenlet = agent.greenlet;
  const monoToRealtime = BigInt(agent.readyClock.realtime_ns) - BigInt(agent.readyClock.monotonic_ns);
  manifest.clock.mono_to_realtime_ns = monoToRealtime.toString();
  manifest.clock.samples.push(agent.readyClock);
  pauseAgent = (paused) => agent.pause(paused);
  const writer = await SegmentWriter.open(o.node, monoToRealtime);
  pipeline.attachWriter(writer);
  writeManifest(out, manifest);

  let stopping = false;
  const priority = new YieldingPriority(o.nice ?? 0);
  const ending = waitForEnd({
    command: o.command,
    duration: o.duration,
    agentExited: agent.exited.then(() => {
      if (stopping) return;
      if (agent.error) fail(`kernel agent: ${agent.error}`);
      else fail('the kernel agent stopped unexpectedly');
    }),
    failure: () => failure,
    fail,
    tick: () => {
      pipeline.tick();
      priority.observe(Number(agent.stats?.consumer?.queued_bytes ?? 0), performance.now());
    },
    log: o.log,
  });
  // After the agent and the command started (they keep the normal priority): from here on the capture yields.
  priority.start();
  const end = await ending;

  // Finalisation: the agent forwards what is left in the ring buffer and exits (its stdout ends before 'close'),
  // the last segment is written, then the accounting.
  stopping = true;
  priority.stop();
  await agent.stop();
  await pipeline.close();
  writer.close();
  finishManifest(manifest, {
    stats: agent.stats, stopClock: agent.stopClock, greenlet: agent.greenlet,
    decoderMalformed: pipeline.decoder.malformed + (pipeline.decoder.pendingBytes ? 1 : 0), failure, interrupted: end.interrupted,
  });
  try {
    writeManifest(out, manifest);
  } catch (e) {
    fail(diskError(e, join(out, 'manifest.json')));
  }
  return { manifest, exitCode: failure && !o.command.length ? 1 : failure ? end.exitCode || 1 : end.exitCode };
}

function agentConfig(o: CaptureOptions, out: string): AgentConfig {
  return {
    snaplen: o.snaplen,
    snaplen_ports: Object.fromEntries([...o.snaplenPorts].map(([p, n]) => [String(p), n])),
    greenlet: o.greenlet,
    ring_pages: o.ringBufferBytes / 4096,
    salt: BigInt.asUintN(63, randomBytes(8).readBigUInt64LE()).toString(),
    pids: o.pids,
    comms: o.comms,
    ports: o.ports,
    netns: o.netns,
    exclude_pids: [process.pid],
    stats_path: join(out, 'agent-stats.json'),
  };
}

/** Default node name: the host name. */
export function defaultNodeName(): string {
  return hostname();
}
