import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readManifest, writeManifest, type CaptureManifest } from './manifest.js';
import { SegmentWriter, fsyncDir } from './segmentWriter.js';
import { SPOOL_SUFFIX } from './segmentPipeline.js';
import type { AgentStats } from './kernelAgent.js';
import { NitraceError } from '../core/errors.js';

export interface RecoveryReport {
  manifest: CaptureManifest;
  /** Spool files converted into segments. */
  converted: string[];
  /** Complete segments that the manifest did not list yet. */
  adopted: string[];
  /** Spools whose segment was already complete (the capture died between the two steps): removed. */
  droppedSpools: string[];
  /** Files that could not be read, moved to events/quarantine/ (their events count as lost), with the reason. */
  quarantined: string[];
  /** Half-written temp files removed (their events count as lost). */
  removedTemps: string[];
  /**
   * Which agent counters `losses.unflushed` comes from: 'final' (written as the agent stopped: exact), 'periodic'
   * (the agent died without its final ones, e.g. killed too: a lower bound), 'none' (no agent-stats.json: unknown).
   */
  agentCounters: 'final' | 'periodic' | 'none';
  /** When the agent wrote the counters used (ISO time), if they say. */
  agentCountersAt: string | null;
}

export interface RecoverOptions {
  /** How long to wait for a still-running kernel agent of this capture to write its final counters and exit. */
  agentTimeoutMs?: number;
  log?: (line: string) => void;
}

export const QUARANTINE_DIR = 'quarantine';
const SEGMENT = /^seg-\d+\.parquet$/;
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Brings a capture that was killed (kill -9, power loss, full disk) to a consistent state, whatever the moment
 * it died: every file left under events/ is a readable segment listed in the manifest. Half-written `*.tmp` files
 * are removed; a spool whose segment is missing is converted, one whose segment exists is removed; a file that
 * still cannot be read is moved to events/quarantine/. Events the agent forwarded that no segment holds are
 * counted in `losses.unflushed`, from the agent's final counters: an agent that outlived the capture is waited for
 * until it has written them (if it died without them, its last periodic ones give a lower bound, said in `error`).
 * Status becomes 'recovered'.
 */
export async function recoverCapture(dirArg: string, options: RecoverOptions = {}): Promise<RecoveryReport> {
  const dir = resolve(dirArg);
  const manifest = readManifest(dir);
  const events = join(dir, 'events');
  // First, before touching anything: the agent outlives a killed capture while it drains and writes its final
  // counters (and its agent-stats.json.tmp, which the clean-up below would remove under it).
  const stats = await finalAgentStats(dir, manifest.agent?.pid ?? null, options.agentTimeoutMs ?? 120_000, options.log ?? (() => {}));
  const report: RecoveryReport = {
    manifest, converted: [], adopted: [], droppedSpools: [], quarantined: [], removedTemps: [],
    agentCounters: stats ? (stats.final ? 'final' : 'periodic') : 'none', agentCountersAt: stats ? statsTime(stats) : null,
  };
  mkdirSync(events, { recursive: true });
  for (const [folder, prefix] of [[events, 'events/'], [dir, '']] as const) {
    for (const f of readdirSync(folder).filter((f) => f.endsWith('.tmp'))) {
      rmSync(join(folder, f), { force: true });
      report.removedTemps.push(`${prefix}${f}`);
    }
  }
  const quarantine = (f: string, why: string): void => {
    mkdirSync(join(events, QUARANTINE_DIR), { recursive: true });
    renameSync(join(events, f), join(events, QUARANTINE_DIR, f));
    report.quarantined.push(`events/${f}: ${why.split('\n')[0]}`);
  };

  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    // Complete segments first: a spool beside one is a leftover of a finished conversion.
    const segments = new Map<string, Awaited<ReturnType<typeof readSegment>>>();
    for (const f of readdirSync(events).filter((f) => SEGMENT.test(f)).sort()) {
      try {
        segments.set(f, await readSegment(con, join(events, f)));
      } catch (e) {
        quarantine(f, (e as Error).message);
      }
    }
    const spools = readdirSync(events).filter((f) => f.endsWith(SPOOL_SUFFIX)).sort();
    const writer = spools.length ? await SegmentWriter.open(manifest.node, BigInt(manifest.clock.mono_to_realtime_ns), manifest.schema_version) : null;
    try {
      for (const f of spools) {
        const name = f.slice(0, -SPOOL_SUFFIX.length);
        if (segments.has(`${name}.parquet`)) {
          rmSync(join(events, f), { force: true });
          report.droppedSpools.push(`events/${f}`);
          continue;
        }
        try {
          const info = await writer!.convert(join(events, f), join(events, `${name}.parquet`), `events/${name}.parquet`);
          segments.set(`${name}.parquet`, info);
          report.converted.push(info.file);
        } catch (e) {
          quarantine(f, (e as Error).message);
        }
      }
    } finally {
      writer?.close();
    }
    // The manifest lists exactly the segments on disk.
    const listed = new Set(manifest.segments.map((s) => s.file));
    for (const f of segments.keys()) if (!listed.has(`events/${f}`) && !report.converted.includes(`events/${f}`)) report.adopted.push(`events/${f}`);
    manifest.segments = [...segments.entries()].map(([f, info]) => ({ ...info, file: `events/${f}` })).sort((a, b) => a.file.localeCompare(b.file));
  } finally {
    con.closeSync();
  }
  fsyncDir(events);
  manifest.events.written = manifest.segments.reduce((s, x) => s + x.rows, 0);
  if (stats) {
    manifest.counters = { kernel_emitted: stats.kernel_emitted, filtered_in_kernel: stats.filtered_in_kernel, agent_records: stats.agent_records, green_switches: stats.green_switches };
    manifest.losses.ringbuf_drops = stats.ringbuf_drops;
    manifest.losses.active_map_full = stats.active_map_full;
    manifest.losses.payload_faults = stats.payload_faults;
    manifest.losses.unflushed = Math.max(0, stats.agent_records - manifest.events.written);
  }
  const changed = report.converted.length + report.adopted.length + report.droppedSpools.length + report.quarantined.length + report.removedTemps.length;
  if (manifest.status === 'running' || changed) {
    manifest.status = 'recovered';
    manifest.stopped_at ??= new Date().toISOString();
  }
  const notes: string[] = [];
  if (report.quarantined.length) notes.push(`unreadable after recovery, moved to events/${QUARANTINE_DIR}/: ${report.quarantined.join('; ')}`);
  if (report.agentCounters === 'periodic') notes.push(`the kernel agent died without its final counters; losses.unflushed is a lower bound (counters from ${report.agentCountersAt ?? 'an unknown time'})`);
  if (report.agentCounters === 'none' && manifest.agent) notes.push('agent-stats.json is missing: losses.unflushed is unknown');
  if (notes.length) manifest.error = notes.join('; ');
  writeManifest(dir, manifest);
  return report;
}

const AGENT_STATS = 'agent-stats.json';

/**
 * The agent's counters once they are final: while the capture's agent still runs (it notices the capture died,
 * drains, writes its final counters, then exits), wait for it. Returns its last counters (final or not), or null
 * if it never wrote any. A capture that is still running keeps its agent: that is an error after the timeout.
 */
async function finalAgentStats(dir: string, pid: number | null, timeoutMs: number, log: (line: string) => void): Promise<(AgentStats & { time_ns?: string }) | null> {
  const path = join(dir, AGENT_STATS);
  const read = (): (AgentStats & { time_ns?: string }) | null => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as AgentStats;
    } catch {
      return null; // missing (replaced atomically, so never half-written)
    }
  };
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const stats = read();
    if (stats?.final) return stats;
    // Exited: read once more, it may have written its final counters between the two looks.
    if (pid === null || !agentRunning(pid, path)) return read();
    if (Date.now() > deadline) {
      throw new NitraceError('capture', `${dir}: its kernel agent (pid ${pid}) still runs after ${Math.round(timeoutMs / 1000)} s: is the capture still running? Stop it first (Ctrl-C, or kill its nitrace capture process), then run capture-recover again. Nothing was changed.`, 1);
    }
    if (!told) log(`nitrace capture-recover: waiting for the kernel agent (pid ${pid}) to write its final counters and exit`);
    told = true;
    await sleep(100);
  }
}

/** Whether `pid` is this capture's agent (its command line names this capture's stats file: pids are reused). */
function agentRunning(pid: number, statsPath: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(JSON.stringify(statsPath)); // a zombie's is empty
  } catch {
    return false;
  }
}

function statsTime(s: { time_ns?: string }): string | null {
  return s.time_ns ? new Date(Number(BigInt(s.time_ns) / 1_000_000n)).toISOString() : null;
}

/** A segment's manifest entry, read from the file (rows and mono_ns range by DuckDB, which also proves it readable). */
async function readSegment(con: DuckDBConnection, path: string): Promise<{ file: string; rows: number; bytes: number; sha256: string; first_mono_ns: string; last_mono_ns: string }> {
  const r = await con.runAndReadAll(`SELECT count(*)::BIGINT, min(mono_ns)::VARCHAR, max(mono_ns)::VARCHAR FROM read_parquet(${sqlString(path)})`);
  const [rows, first, last] = r.getRows()[0] as [bigint, string | null, string | null];
  const data = readFileSync(path);
  return { file: path, rows: Number(rows), bytes: statSync(path).size, sha256: createHash('sha256').update(data).digest('hex'), first_mono_ns: first ?? '0', last_mono_ns: last ?? '0' };
}
