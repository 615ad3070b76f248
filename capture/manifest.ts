import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStats, ClockSample, GreenletReport } from './kernelAgent.js';
import type { SegmentInfo } from './segmentWriter.js';
import { NitraceError } from '../core/errors.js';
import { writeFileAtomic } from '../core/atomicFile.js';
import { version } from '../core/version.js';

/** Version of the capture format (docs/capture-schema.md). Readers reject versions they do not know. */
export const CAPTURE_SCHEMA_VERSION = 2;
export const MANIFEST_FILE = 'manifest.json';

export type CaptureStatus = 'running' | 'complete' | 'interrupted' | 'failed' | 'recovered';

export interface CaptureManifest {
  format: 'nitrace-capture';
  schema_version: number;
  nitrace_version: string;
  status: CaptureStatus;
  /** The kernel agent process (its own events are never captured) and how many probes it attached. */
  agent: { pid: number; probes: number } | null;
  error: string | null;
  /** Greenlet libraries the uprobes were attached to (schema 2; null until the agent runs). */
  greenlet: GreenletReport | null;
  node: string;
  kernel: { release: string; version: string; machine: string };
  config: {
    snaplen: number;
    /** --snaplen-port PORT=N (schema 2). */
    snaplen_ports: Record<string, number>;
    /** Greenlet uprobes requested (schema 2). */
    greenlet: boolean;
    redact: boolean;
    pids: number[];
    comms: string[];
    ports: number[];
    netns: number[];
    command: string[] | null;
    segment_max_bytes: number;
    segment_max_seconds: number;
    ring_buffer_bytes: number;
    /** --nice: the capture's own work yielded the CPU to the services at this nice value (0: normal priority; absent before session 14). */
    nice?: number;
  };
  clock: {
    /** Add to a kernel CLOCK_MONOTONIC timestamp to get wall-clock ns (string: exceeds 2^53). */
    mono_to_realtime_ns: string;
    samples: ClockSample[];
    /** Change of the offset between start and stop, ns (clock adjustments during the capture). */
    drift_ns: number | null;
    source: string;
  };
  started_at: string;
  stopped_at: string | null;
  segments: SegmentInfo[];
  events: { written: number; redacted: number };
  losses: { ringbuf_drops: number; active_map_full: number; payload_faults: number; unflushed: number | null; decoder_malformed: number };
  /** green_switches: greenlet switches in traced processes (schema 2), each a uprobe hit (~6.5 us here). */
  counters: { kernel_emitted: number; filtered_in_kernel: number; agent_records: number; green_switches?: number };
}

/** The manifest of a capture that starts now: status 'running', nothing written or lost yet. */
export function startManifest(node: string, kernel: CaptureManifest['kernel'], config: CaptureManifest['config'], now = new Date()): CaptureManifest {
  return {
    format: 'nitrace-capture',
    schema_version: CAPTURE_SCHEMA_VERSION,
    nitrace_version: version,
    status: 'running',
    agent: null,
    error: null,
    greenlet: null,
    node,
    kernel,
    config,
    clock: { mono_to_realtime_ns: '0', samples: [], drift_ns: null, source: 'clock_gettime(CLOCK_REALTIME) bracketing CLOCK_MONOTONIC in the agent; narrowest of 50 brackets' },
    started_at: now.toISOString(),
    stopped_at: null,
    segments: [],
    events: { written: 0, redacted: 0 },
    losses: { ringbuf_drops: 0, active_map_full: 0, payload_faults: 0, unflushed: null, decoder_malformed: 0 },
    counters: { kernel_emitted: 0, filtered_in_kernel: 0, agent_records: 0 },
  };
}

/** How a capture ended: what `finishManifest` records. */
export interface CaptureEnd {
  /** The agent's last counters (null if it never reported). */
  stats: AgentStats | null;
  /** Clock sample taken at stop (null if the agent did not stop cleanly). */
  stopClock: ClockSample | null;
  greenlet: GreenletReport | null;
  /** Malformed records, plus 1 if the record stream was cut in the middle of a record. */
  decoderMalformed: number;
  failure: string | null;
  interrupted: boolean;
}

/**
 * The final accounting, once every segment is written: counters and losses from the agent, clock drift, status.
 * Events the agent forwarded but no segment holds are `unflushed` (0 after a clean stop: every record was
 * written; after a failure, what was in memory or in the failed segment).
 */
export function finishManifest(m: CaptureManifest, end: CaptureEnd, now = new Date()): void {
  if (end.greenlet) m.greenlet = end.greenlet;
  if (end.stopClock) {
    m.clock.samples.push(end.stopClock);
    const stopOffset = BigInt(end.stopClock.realtime_ns) - BigInt(end.stopClock.monotonic_ns);
    m.clock.drift_ns = Number(stopOffset - BigInt(m.clock.mono_to_realtime_ns));
  }
  const s = end.stats;
  if (s) {
    m.losses.ringbuf_drops = s.ringbuf_drops;
    m.losses.active_map_full = s.active_map_full;
    m.losses.payload_faults = s.payload_faults;
    m.counters = { kernel_emitted: s.kernel_emitted, filtered_in_kernel: s.filtered_in_kernel, agent_records: s.agent_records, green_switches: s.green_switches };
    m.losses.unflushed = end.failure ? Math.max(0, s.agent_records - m.events.written) : 0;
  }
  m.losses.decoder_malformed = end.decoderMalformed;
  m.status = end.failure ? 'failed' : end.interrupted ? 'interrupted' : 'complete';
  m.error = end.failure;
  m.stopped_at = now.toISOString();
}

/** Write the manifest atomically (temp file, fsync, rename), so a reader never sees half of it. */
export function writeManifest(dir: string, m: CaptureManifest): void {
  writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
}

/** Read and check a capture's manifest; errors name the file and what is wrong. */
export function readManifest(dir: string): CaptureManifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NitraceError('capture', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e}): is ${dir} a nitrace capture?`, 2);
  }
  let m: CaptureManifest;
  try {
    m = JSON.parse(text) as CaptureManifest;
  } catch (e) {
    throw new NitraceError('capture', `${path}: not valid JSON (${(e as Error).message})`, 2);
  }
  if (m.format !== 'nitrace-capture') throw new NitraceError('capture', `${path}: not a nitrace capture manifest`, 2);
  if (!Number.isInteger(m.schema_version) || m.schema_version < 1 || m.schema_version > CAPTURE_SCHEMA_VERSION) {
    throw new NitraceError('capture', `${path}: capture schema version ${m.schema_version} is not supported (this nitrace reads versions 1 to ${CAPTURE_SCHEMA_VERSION})`, 2);
  }
  return m;
}
