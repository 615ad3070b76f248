import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomicFile.js';

/**
 * manifest.json of a sketch-mode capture (`nitrace capture --mode sketch`). Its own format name, so `nitrace
 * analyze` refuses it with a clear message instead of finding no events.
 */
export interface SketchManifest {
  format: 'nitrace-sketch-capture';
  schema_version: 1;
  nitrace_version: string;
  status: 'running' | 'complete' | 'failed';
  error: string | null;
  node: string;
  kernel: { release: string; version: string; machine: string };
  config: { pids: number[]; comms: string[]; ports: number[]; netns: number[]; drain_seconds: number; command: string[] | null };
  /** What the kernel aggregates and how to read it (bucket bounds, the count-min's shape and hash). */
  sketch: { latency_buckets: string; countmin: { depth: number; width: number; key: string; hash: string } };
  agent: { pid: number; probes: number } | null;
  started_at: string;
  stopped_at: string | null;
  /** One entry per drain, in order; the last (final: true) holds the totals of the whole capture. */
  drains: { seq: number; final: boolean; realtime_ns: string; monotonic_ns: string; conns: number; procs: number; bytes: number }[];
  /** Bytes of every Parquet file written under sketch/. */
  bytes_on_disk: number;
  /** Kernel counters at the last drain: conn_map_full, proc_map_full (losses), socket_calls. */
  counters: Record<string, number>;
  /**
   * Null while running and when the final drain holds the whole capture. Otherwise the capture ended without a
   * final drain (the agent died, e.g. kill -9): the drains written are running totals and stay readable, and
   * what they miss is stated here: everything counted after `counted_until` (null: no drain at all).
   */
  loss: { cause: string; counted_until: { drain_seq: number; realtime_ns: string } | null; missing: string } | null;
}

export function writeManifestFile(dir: string, m: SketchManifest): void {
  writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
}
