import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { hostname, release, version as osVersion, machine } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NitraceError, UsageError } from '../core/errors.js';
import { version } from '../core/version.js';
import { KernelAgent, AGENT_PYTHON, type AgentConfig } from './kernelAgent.js';
import { RecordDecoder } from './recordDecoder.js';
import { SegmentBuilder } from './segmentBuilder.js';
import { PayloadRedactor, redactArgv } from './redact.js';
import { SegmentWriter } from './segmentWriter.js';
import { readProcess, type ProcessInfo } from './processTable.js';
import { writeManifest, CAPTURE_SCHEMA_VERSION, type CaptureManifest } from './manifest.js';
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
  /** Progress and summary lines on stderr. */
  log: (line: string) => void;
}

export interface CaptureResult {
  manifest: CaptureManifest;
  /** The command's exit code with `-- CMD`, else 0 (or 1 if the capture failed). */
  exitCode: number;
}

export const SPOOL_SUFFIX = '.spool.parquet';

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

function segName(n: number): string {
  return `seg-${String(n).padStart(6, '0')}`;
}

/**
 * Runs one capture: starts the kernel agent, turns its records into Parquet segments, stops on command exit,
 * --duration, SIGINT or SIGTERM, and leaves a complete manifest. Nothing is half-written: segments appear
 * only complete, the manifest is replaced atomically.
 */
export async function runCapture(o: CaptureOptions): Promise<CaptureResult> {
  validateOptions(o);
  checkPrerequisites();
  const out = resolve(o.out);
  prepareOutDir(out, o.force);

  const manifest: CaptureManifest = {
    format: 'nitrace-capture',
    schema_version: CAPTURE_SCHEMA_VERSION,
    nitrace_version: version,
    status: 'running',
    agent: null,
    error: null,
    greenlet: null,
    node: o.node,
    kernel: { release: release(), version: osVersion(), machine: machine() },
    config: {
      snaplen: o.snaplen, snaplen_ports: Object.fromEntries(o.snaplenPorts), greenlet: o.greenlet, redact: o.redact, pids: o.pids, comms: o.comms, ports: o.ports, netns: o.netns,
      command: o.command.length ? (o.redact ? redactArgv(o.command) : o.command) : null, segment_max_bytes: o.segmentMaxBytes,
      segment_max_seconds: o.segmentMaxSeconds, ring_buffer_bytes: o.ringBufferBytes,
    },
    clock: { mono_to_realtime_ns: '0', samples: [], drift_ns: null, source: 'clock_gettime(CLOCK_REALTIME) bracketing CLOCK_MONOTONIC in the agent; narrowest of 50 brackets' },
    started_at: new Date().toISOString(),
    stopped_at: null,
    segments: [],
    events: { written: 0, redacted: 0 },
    losses: { ringbuf_drops: 0, active_map_full: 0, payload_faults: 0, unflushed: null, decoder_malformed: 0 },
    counters: { kernel_emitted: 0, filtered_in_kernel: 0, agent_records: 0 },
  };
  writeManifest(out, manifest);

  const decoder = new RecordDecoder();
  const redactor = o.redact ? new PayloadRedactor() : null;
  let builder = new SegmentBuilder(redactor);
  let segmentStarted = Date.now();
  let segmentCount = 0;
  let failure: string | null = null;
  // Segments can close before the writer exists (it needs the agent's clock): conversions wait for it.
  let openWriter: (w: SegmentWriter) => void = () => {};
  const writerReady = new Promise<SegmentWriter>((r) => (openWriter = r));
  let conversions: Promise<void> = Promise.resolve();
  const processes = new Map<number, ProcessInfo>();
  let monoToRealtime = 0n;
  const seenPids = new Set<number>();

  const fail = (message: string): void => {
    if (!failure) {
      failure = message;
      o.log(`nitrace capture: ${message}`);
    }
  };

  /**
   * Close the current segment: in the background, spool it to disk, then convert it to zstd. While two segments
   * wait, reading from the agent pauses: its pipe fills, it stops draining, and the kernel ring buffer (whose
   * overflows are counted) absorbs the burst.
   */
  let pendingSegments = 0;
  let pauseAgent: (paused: boolean) => void = () => {};
  const rotate = (): void => {
    if (builder.rows === 0 || failure) return;
    const full = builder;
    builder = new SegmentBuilder(redactor);
    segmentStarted = Date.now();
    const name = segName(++segmentCount);
    const spool = join(out, 'events', `${name}${SPOOL_SUFFIX}`);
    manifest.events.redacted += full.redacted;
    if (++pendingSegments >= 2) pauseAgent(true);
    conversions = conversions.then(async () => {
      try {
        if (failure) return;
        try {
          await SegmentWriter.writeSpool(spool, full.columns(), full.rows);
        } catch (e) {
          rmSync(spool, { force: true });
          fail(diskError(e, spool));
          return;
        }
        const writer = await writerReady;
        try {
          const info = await writer.convert(spool, join(out, 'events', `${name}.parquet`), `events/${name}.parquet`);
          manifest.segments.push(info);
          manifest.events.written += info.rows;
          await writer.writeProcesses(join(out, 'processes.parquet'), [...processes.values()]);
          writeManifest(out, manifest);
        } catch (e) {
          fail(diskError(e, join(out, 'events', `${name}.parquet`)));
        }
      } finally {
        if (--pendingSegments < 2) pauseAgent(false);
      }
    });
  };

  const onData = (chunk: Buffer): void => {
    if (failure) return;
    decoder.push(chunk, (buf, off) => builder.add(buf, off));
    // Read /proc once per process, as soon as it shows up (short-lived clients are gone by the next segment).
    for (const pid of builder.pids) {
      if (seenPids.has(pid)) continue;
      seenPids.add(pid);
      processes.set(pid, readProcess(pid, BigInt(Date.now()) * 1_000_000n, o.redact));
    }
    if (builder.byteSize >= o.segmentMaxBytes || Date.now() - segmentStarted >= o.segmentMaxSeconds * 1000) rotate();
  };

  const agentConfig: AgentConfig = {
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
  o.log(`nitrace capture: compiling and attaching probes (a few seconds)...`);
  let agent: KernelAgent;
  try {
    agent = await KernelAgent.start(agentConfig, onData);
  } catch (e) {
    manifest.status = 'failed';
    manifest.error = e instanceof Error ? e.message : String(e);
    manifest.stopped_at = new Date().toISOString();
    writeManifest(out, manifest);
    throw e;
  }
  manifest.agent = { pid: agent.pid, probes: agent.probes };
  manifest.greenlet = agent.greenlet;
  pauseAgent = (paused) => agent.pause(paused);
  monoToRealtime = BigInt(agent.readyClock.realtime_ns) - BigInt(agent.readyClock.monotonic_ns);
  manifest.clock.mono_to_realtime_ns = monoToRealtime.toString();
  manifest.clock.samples.push(agent.readyClock);
  const writer = await SegmentWriter.open(o.node, monoToRealtime);
  openWriter(writer);
  writeManifest(out, manifest);

  // Wait for the end: command exit, duration, signal, or agent failure.
  let exitCode = 0;
  let interrupted = false;
  let stopping = false;
  await new Promise<void>((done) => {
    let child: ReturnType<typeof spawn> | null = null;
    const finish = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      clearInterval(ticker);
      if (timer) clearTimeout(timer);
      done();
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      interrupted = true;
      if (child && child.exitCode === null) child.kill(sig); // the command decides; we stop when it exits
      else finish();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = o.duration > 0 ? setTimeout(() => (child && child.exitCode === null ? child.kill('SIGTERM') : finish()), o.duration * 1000) : null;
    const ticker = setInterval(() => {
      if (Date.now() - segmentStarted >= o.segmentMaxSeconds * 1000) rotate();
      if (failure) {
        if (child && child.exitCode === null) child.kill('SIGTERM');
        finish();
      }
    }, 250);
    void agent.exited.then(() => {
      if (stopping) return;
      if (!agent.error && !failure) fail('the kernel agent stopped unexpectedly');
      else if (agent.error) fail(`kernel agent: ${agent.error}`);
      finish();
    });
    if (o.command.length) {
      o.log(`nitrace capture: tracing; running ${o.command.join(' ')}`);
      child = spawn(o.command[0]!, o.command.slice(1), { stdio: 'inherit' });
      child.on('error', (e) => {
        fail(`cannot run ${o.command[0]}: ${e.message}`);
        exitCode = 127;
        finish();
      });
      child.on('exit', (code, signal) => {
        exitCode = code ?? 128 + (signal ? (({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9 } as Record<string, number>)[signal] ?? 0) : 0);
        finish();
      });
    } else {
      o.log(`nitrace capture: tracing${o.duration ? ` for ${o.duration} s` : ''}; Ctrl-C to stop`);
    }
  });

  // Drain: the agent forwards what is left in the ring buffer, then exits; its stdout ends before 'close'.
  stopping = true;
  await agent.stop();
  const stats = agent.stats;
  rotate();
  await conversions;
  writer.close();

  manifest.greenlet = agent.greenlet;
  if (agent.stopClock) {
    manifest.clock.samples.push(agent.stopClock);
    const stopOffset = BigInt(agent.stopClock.realtime_ns) - BigInt(agent.stopClock.monotonic_ns);
    manifest.clock.drift_ns = Number(stopOffset - monoToRealtime);
  }
  if (stats) {
    manifest.losses.ringbuf_drops = stats.ringbuf_drops;
    manifest.losses.active_map_full = stats.active_map_full;
    manifest.losses.payload_faults = stats.payload_faults;
    manifest.counters = { kernel_emitted: stats.kernel_emitted, filtered_in_kernel: stats.filtered_in_kernel, agent_records: stats.agent_records, green_switches: stats.green_switches };
    manifest.losses.unflushed = failure ? Math.max(0, stats.agent_records - manifest.events.written) : 0;
  }
  manifest.losses.decoder_malformed = decoder.malformed + (decoder.pendingBytes ? 1 : 0);
  manifest.status = failure ? 'failed' : interrupted ? 'interrupted' : 'complete';
  manifest.error = failure;
  manifest.stopped_at = new Date().toISOString();
  try {
    writeManifest(out, manifest);
  } catch (e) {
    fail(diskError(e, join(out, 'manifest.json')));
  }
  return { manifest, exitCode: failure && !o.command.length ? 1 : failure ? exitCode || 1 : exitCode };
}

function diskError(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || /No space left/i.test(String(e))) {
    return `disk full while writing ${path}; stopped. Segments closed before it are intact (see manifest.json).`;
  }
  return `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`;
}

/** Default node name: the host name. */
export function defaultNodeName(): string {
  return hostname();
}
