import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { readManifest, writeManifest, type CaptureManifest } from './manifest.js';
import { SegmentWriter } from './segmentWriter.js';
import { SPOOL_SUFFIX } from './capture.js';
import type { AgentStats } from './kernelAgent.js';

export interface RecoveryReport {
  manifest: CaptureManifest;
  /** Spool files converted into segments. */
  converted: string[];
  /** Complete segments that the manifest did not list yet. */
  adopted: string[];
  /** Files that could not be read (left in place, named in the manifest error). */
  unreadable: string[];
  /** Unfinished temp files removed. */
  removedTemps: string[];
}

/**
 * Brings a capture that was killed (kill -9, power loss) to a consistent state: converts spooled segments,
 * lists complete segments the manifest missed, drops half-written temp files, and counts the events the agent
 * forwarded that never reached a segment (`losses.unflushed`). Status becomes 'recovered'.
 */
export async function recoverCapture(dirArg: string): Promise<RecoveryReport> {
  const dir = resolve(dirArg);
  const manifest = readManifest(dir);
  const events = join(dir, 'events');
  const report: RecoveryReport = { manifest, converted: [], adopted: [], unreadable: [], removedTemps: [] };
  const files = existsSync(events) ? readdirSync(events).sort() : [];
  for (const f of files.filter((f) => f.endsWith('.tmp'))) {
    rmSync(join(events, f), { force: true });
    report.removedTemps.push(`events/${f}`);
  }
  const offset = BigInt(manifest.clock.mono_to_realtime_ns);
  const writer = await SegmentWriter.open(manifest.node, offset);
  try {
    for (const f of files.filter((f) => f.endsWith(SPOOL_SUFFIX))) {
      const name = f.slice(0, -SPOOL_SUFFIX.length);
      try {
        const info = await writer.convert(join(events, f), join(events, `${name}.parquet`), `events/${name}.parquet`);
        manifest.segments.push(info);
        report.converted.push(info.file);
      } catch (e) {
        report.unreadable.push(`events/${f}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    writer.close();
  }
  const listed = new Set(manifest.segments.map((s) => s.file));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    for (const f of readdirSync(events).filter((f) => /^seg-\d+\.parquet$/.test(f)).sort()) {
      const file = `events/${f}`;
      if (listed.has(file)) continue;
      try {
        const r = await con.runAndReadAll(`SELECT count(*)::BIGINT, min(mono_ns)::VARCHAR, max(mono_ns)::VARCHAR FROM read_parquet('${join(events, f)}')`);
        const [rows, first, last] = r.getRows()[0] as [bigint, string, string];
        const { createHash } = await import('node:crypto');
        const data = readFileSync(join(events, f));
        manifest.segments.push({ file, rows: Number(rows), bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), first_mono_ns: first ?? '0', last_mono_ns: last ?? '0' });
        report.adopted.push(file);
      } catch (e) {
        report.unreadable.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    con.closeSync();
  }
  manifest.segments.sort((a, b) => a.file.localeCompare(b.file));
  manifest.events.written = manifest.segments.reduce((s, x) => s + x.rows, 0);
  const statsPath = join(dir, 'agent-stats.json');
  if (existsSync(statsPath)) {
    const stats = JSON.parse(readFileSync(statsPath, 'utf8')) as AgentStats;
    manifest.counters = { kernel_emitted: stats.kernel_emitted, filtered_in_kernel: stats.filtered_in_kernel, agent_records: stats.agent_records };
    manifest.losses.ringbuf_drops = stats.ringbuf_drops;
    manifest.losses.active_map_full = stats.active_map_full;
    manifest.losses.payload_faults = stats.payload_faults;
    manifest.losses.unflushed = Math.max(0, stats.agent_records - manifest.events.written);
  }
  if (manifest.status === 'running' || report.converted.length || report.adopted.length) {
    manifest.status = 'recovered';
    manifest.stopped_at ??= new Date().toISOString();
  }
  if (report.unreadable.length) manifest.error = `unreadable after recovery: ${report.unreadable.join('; ')}`;
  writeManifest(dir, manifest);
  return report;
}
