import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readManifest, writeManifest, type CaptureManifest } from './manifest.js';
import { SegmentWriter, fsyncDir } from './segmentWriter.js';
import { SPOOL_SUFFIX } from './segmentPipeline.js';
import type { AgentStats } from './kernelAgent.js';

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
}

export const QUARANTINE_DIR = 'quarantine';
const SEGMENT = /^seg-\d+\.parquet$/;
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Brings a capture that was killed (kill -9, power loss, full disk) to a consistent state, whatever the moment
 * it died: every file left under events/ is a readable segment listed in the manifest. Half-written `*.tmp` files
 * are removed; a spool whose segment is missing is converted, one whose segment exists is removed; a file that
 * still cannot be read is moved to events/quarantine/. Events the agent forwarded that no segment holds are
 * counted in `losses.unflushed` (from the agent's last counters). Status becomes 'recovered'.
 */
export async function recoverCapture(dirArg: string): Promise<RecoveryReport> {
  const dir = resolve(dirArg);
  const manifest = readManifest(dir);
  const events = join(dir, 'events');
  const report: RecoveryReport = { manifest, converted: [], adopted: [], droppedSpools: [], quarantined: [], removedTemps: [] };
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
  const statsPath = join(dir, 'agent-stats.json');
  if (existsSync(statsPath)) {
    const stats = JSON.parse(readFileSync(statsPath, 'utf8')) as AgentStats;
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
  if (report.quarantined.length) manifest.error = `unreadable after recovery, moved to events/${QUARANTINE_DIR}/: ${report.quarantined.join('; ')}`;
  writeManifest(dir, manifest);
  return report;
}

/** A segment's manifest entry, read from the file (rows and mono_ns range by DuckDB, which also proves it readable). */
async function readSegment(con: DuckDBConnection, path: string): Promise<{ file: string; rows: number; bytes: number; sha256: string; first_mono_ns: string; last_mono_ns: string }> {
  const r = await con.runAndReadAll(`SELECT count(*)::BIGINT, min(mono_ns)::VARCHAR, max(mono_ns)::VARCHAR FROM read_parquet(${sqlString(path)})`);
  const [rows, first, last] = r.getRows()[0] as [bigint, string | null, string | null];
  const data = readFileSync(path);
  return { file: path, rows: Number(rows), bytes: statSync(path).size, sha256: createHash('sha256').update(data).digest('hex'), first_mono_ns: first ?? '0', last_mono_ns: last ?? '0' };
}
