import { writeFileSync, renameSync, readFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { ClockSample, GreenletReport } from './kernelAgent.js';
import type { SegmentInfo } from './segmentWriter.js';
import { NitraceError } from '../core/errors.js';

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

/** Write the manifest atomically (temp file, fsync, rename), so a reader never sees half of it. */
export function writeManifest(dir: string, m: CaptureManifest): void {
  const path = join(dir, MANIFEST_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(m, null, 2) + '\n');
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
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
