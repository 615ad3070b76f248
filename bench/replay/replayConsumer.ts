/**
 * replayConsumer: the user-space data path of `nitrace capture` (decode -> redact -> spool -> zstd segment), fed raw
 * ring records on stdin by ring_replay.c instead of by the kernel agent. Started pinned to one core by
 * bench/captureBench.ts:  taskset -c 0 node dist/bench/replay/replayConsumer.js OUTDIR
 *
 * It composes the same classes runCapture composes (capture/capture.ts: RecordDecoder, SegmentBuilder with
 * redaction, SegmentWriter), with the same segment size and the same back-pressure (reading pauses while two closed
 * segments wait to be written). Not included: capture/agent.py's forwarding from the ring to the pipe (ring_replay's
 * drain thread does that part, on the other core) and the process table (/proc reads, once per new pid).
 * Prints {"events","segments","bytes_on_disk","seconds","cpu_ns"} on stdout at EOF; seconds and cpu_ns from the first
 * byte to the last segment on disk (DuckDB's worker thread included: the process is pinned to one core).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RecordDecoder } from '../../capture/recordDecoder.js';
import { SegmentBuilder } from '../../capture/segmentBuilder.js';
import { SegmentWriter } from '../../capture/segmentWriter.js';
import { PayloadRedactor } from '../../capture/redact.js';

const SEGMENT_MAX_BYTES = 64 * 2 ** 20; // nitrace capture's default --segment-mb

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: replayConsumer.js OUTDIR');
  mkdirSync(out, { recursive: true });
  const writer = await SegmentWriter.open('replay', 0n);
  const decoder = new RecordDecoder();
  const redactor = new PayloadRedactor(); // per-connection state lives across segments, as in runCapture
  let builder = new SegmentBuilder(redactor);
  let segments = 0;
  let events = 0;
  let bytes = 0;
  let pending = 0;
  let chain: Promise<void> = Promise.resolve();
  let t0 = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  const rotate = (): void => {
    if (builder.rows === 0) return;
    const full = builder;
    builder = new SegmentBuilder(redactor);
    const name = `seg-${String(++segments).padStart(6, '0')}`;
    if (++pending >= 2) process.stdin.pause();
    chain = chain.then(async () => {
      const spool = join(out, `${name}.spool.parquet`);
      await SegmentWriter.writeSpool(spool, full.columns(), full.rows);
      const info = await writer.convert(spool, join(out, `${name}.parquet`), name);
      events += info.rows;
      bytes += info.bytes;
      if (--pending < 2) process.stdin.resume();
    });
  };
  process.stdin.on('data', (chunk: Buffer) => {
    if (!t0) {
      t0 = performance.now();
      cpu0 = process.cpuUsage(); // from the first record on: module loading and DuckDB start-up are not per-event work
    }
    decoder.push(chunk, (buf, off) => builder.add(buf, off));
    if (builder.byteSize >= SEGMENT_MAX_BYTES) rotate();
  });
  await new Promise<void>((r) => process.stdin.on('end', () => r()));
  rotate();
  await chain;
  writer.close();
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  const seconds = t0 ? (performance.now() - t0) / 1000 : 0;
  process.stdout.write(JSON.stringify({ events, segments, bytes_on_disk: bytes, seconds, cpu_ns: (cpu.user + cpu.system) * 1000, malformed: decoder.malformed }) + '\n');
}

main().catch((e: unknown) => {
  console.error(`replayConsumer: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
