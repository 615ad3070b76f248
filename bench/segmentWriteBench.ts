/**
 * segmentWriteBench: what the capture spends to put one closed segment on disk, the session-5 way (the events
 * Parquet written in-process: capture/eventColumns.ts + writeParquet + zstd-wasm, SegmentWriter.write) against the
 * way before it (an uncompressed spool written, then re-encoded by DuckDB: SegmentWriter.writeSpool + the SQL of
 * testing/duckdbSpoolConversion.ts, capture-recover's way until session 6). No root, no kernel: a segment of real OpenStack events (shipped sample, redacted as the
 * capture does) built once, written both ways.
 *
 *   node dist/bench/segmentWriteBench.js [--quick] [--pairs N]
 *
 * Alternating pairs (order alternating pair to pair), 0.5 s apart. Per write: CPU time of the whole process (user +
 * system, DuckDB's worker thread included) per event. Reports each way (t interval), the paired ratio new/old
 * (bootstrap), and bytes per event on disk both ways with and without payloads (the codec's cost in bytes).
 * Writes bench/results/segment-write-<time>.json.
 */
import { readFileSync, mkdtempSync, rmSync, mkdirSync, statSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../core/version.js';
import { RecordDecoder } from '../capture/recordDecoder.js';
import { SegmentBuilder } from '../capture/segmentBuilder.js';
import { SegmentWriter } from '../capture/segmentWriter.js';
import { PayloadRedactor } from '../capture/redact.js';
import { CAPTURE_SCHEMA_VERSION } from '../capture/manifest.js';
import { duckdbConvert } from '../testing/duckdbSpoolConversion.js';
import { buildReplayFile } from './replay/sampleRecords.js';
import { tInterval, pairedRatio, fmtRatio, type Interval } from './stats.js';
import { machineInfo, loadavg, writeResult } from './machine.js';

const SAMPLE = 'tempest-identity-image';

async function segmentOf(records: string): Promise<SegmentBuilder> {
  const builder = new SegmentBuilder(new PayloadRedactor());
  new RecordDecoder().push(readFileSync(records), (b, o) => builder.add(b, o));
  return builder;
}

/** One write of `b`'s segment into `dir`, the old way or the new; CPU ns per event and bytes on disk. */
const MONO_TO_REALTIME = 1_764_000_000_000_000_000n;
/** DuckDB for the old way (one thread, as SegmentWriter ran it). */
let con: DuckDBConnection;

async function writeOnce(writer: SegmentWriter, b: SegmentBuilder, dir: string, way: 'old' | 'new'): Promise<{ ns: number; bytes: number }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const stats = b.stats();
  const final = join(dir, 'seg-000001.parquet');
  const c0 = process.cpuUsage();
  let info;
  if (way === 'old') {
    const spool = join(dir, 'seg-000001.spool.parquet');
    await SegmentWriter.writeSpool(spool, b.columns(), b.rows);
    await duckdbConvert(con, spool, final, 'bench', MONO_TO_REALTIME, CAPTURE_SCHEMA_VERSION, true);
    info = { bytes: statSync(final).size };
  } else {
    info = await writer.write(final, 'events/seg-000001.parquet', b.columns(), stats);
  }
  const c = process.cpuUsage(c0);
  return { ns: ((c.user + c.system) * 1000) / b.rows, bytes: info.bytes };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const i = args.indexOf('--pairs');
  const pairsN = i >= 0 ? Number(args[i + 1]) : quick ? 4 : 10;
  const date = new Date().toISOString();
  const machine = machineInfo();
  const work = mkdtempSync(join(tmpdir(), 'nitrace-segwrite-'));
  try {
    const sample = join(packageRoot, 'datasets', 'samples', SAMPLE, 'capture');
    const withPayload = await buildReplayFile(sample, join(work, 'payload.bin'), 200_000, true);
    const noPayload = await buildReplayFile(sample, join(work, 'nopayload.bin'), 200_000, false);
    const seg = await segmentOf(withPayload.path);
    const bare = await segmentOf(noPayload.path);
    const writer = await SegmentWriter.open('bench', MONO_TO_REALTIME);
    con = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
    const out = join(work, 'out');
    const bytes = {
      old_with_payload: (await writeOnce(writer, seg, out, 'old')).bytes / seg.rows,
      new_with_payload: (await writeOnce(writer, seg, out, 'new')).bytes / seg.rows,
      old_before_payload: (await writeOnce(writer, bare, out, 'old')).bytes / bare.rows,
      new_before_payload: (await writeOnce(writer, bare, out, 'new')).bytes / bare.rows,
    };
    const pairs: { off: number; on: number }[] = [];
    for (let p = 0; p < pairsN; p++) {
      const first = p % 2 === 0 ? 'old' : 'new';
      const a = await writeOnce(writer, seg, out, first);
      await sleep(500);
      const b = await writeOnce(writer, seg, out, first === 'old' ? 'new' : 'old');
      await sleep(500);
      pairs.push(first === 'old' ? { off: a.ns, on: b.ns } : { off: b.ns, on: a.ns });
    }
    writer.close();
    const round = (x: Interval) => ({ ...x, value: Math.round(x.value), ci_low: Math.round(x.ci_low), ci_high: Math.round(x.ci_high) });
    const result = {
      date, quick, machine, load_after: loadavg(),
      source: `${seg.rows} events of datasets/samples/${SAMPLE} (redacted), one segment, ${(withPayload.payload_bytes / withPayload.records).toFixed(0)} payload B/event`,
      old_way: 'spool (uncompressed PLAIN Parquet) written, then DuckDB COPY to zstd Parquet (SegmentWriter.writeSpool + convert)',
      new_way: 'events Parquet written in-process, pages zstd level 1 (WebAssembly) (SegmentWriter.write)',
      old_ns_per_event: round(tInterval(pairs.map((x) => x.off))),
      new_ns_per_event: round(tInterval(pairs.map((x) => x.on))),
      ratio_new_over_old: pairedRatio(pairs),
      bytes_per_event: Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, Number(v.toFixed(2))])),
      pairs: pairs.map((x) => ({ old: Math.round(x.off), new: Math.round(x.on) })),
    };
    const file = writeResult('segment-write', date, result);
    process.stdout.write([
      `segment write: ${result.source}; load ${machine.load_before} (CPU time per event, ${pairsN} alternating pairs)`,
      `  old (spool + DuckDB)   ${result.old_ns_per_event.value} ns/event [${result.old_ns_per_event.ci_low}, ${result.old_ns_per_event.ci_high}]`,
      `  new (in-process zstd)  ${result.new_ns_per_event.value} ns/event [${result.new_ns_per_event.ci_low}, ${result.new_ns_per_event.ci_high}]`,
      `  new/old                ${fmtRatio(result.ratio_new_over_old)}`,
      `  bytes/event with payload: old ${result.bytes_per_event.old_with_payload}, new ${result.bytes_per_event.new_with_payload}; before payload: old ${result.bytes_per_event.old_before_payload}, new ${result.bytes_per_event.new_before_payload}`,
      `-> ${file}`,
    ].join('\n') + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`segmentWriteBench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
