/**
 * replayConsumer: the user-space data path of `nitrace capture` (decode -> redact -> zstd Parquet segment), fed raw
 * ring records on stdin by ring_replay.c instead of by the kernel agent. Started pinned to one core by
 * bench/captureBench.ts:  taskset -c 0 node dist/bench/replay/replayConsumer.js OUTDIR
 *
 * It runs the capture's own segment pipeline (capture/segmentPipeline.ts: decode, redaction, rotation by size and
 * age, back-pressure - reading pauses while two closed segments wait to be written - and the writer), with the
 * capture's default segment size and age. Not included: capture/agent.py's forwarding from the ring to the pipe
 * (ring_replay's drain thread does that part, on the other core) and the process table (/proc reads, once per new
 * pid). Prints "ready" when it can read, then {"events","segments","bytes_on_disk","seconds","cpu_ns","read_seconds","waiting_at_end",
 * "segments_written","zstd_engine"} on stdout at
 * EOF; seconds and cpu_ns from the first byte to the last segment on disk (all threads included: the
 * process is pinned to one core); read_seconds from the first byte to the last (when the producer's stream ended
 * here), waiting_at_end the closed segments not yet on disk then. What comes after the last byte is the flush of the
 * open segment (and of one closed segment still converting), which a capture pays once, when it stops.
 * segments_written: per segment on disk, its rows and the CPU and seconds since the first byte at that moment (the
 * steady-state window, bench/replay/steadyState.ts). zstd_engine: which zstd compressed the pages (capture/segmentCodec.ts:
 * 'native', or 'wasm' where @mongodb-js/zstd is not installed, e.g. a shared node_modules older than package-lock.json).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentPipeline } from '../../capture/segmentPipeline.js';
import { SegmentWriter } from '../../capture/segmentWriter.js';
import { PayloadRedactor } from '../../capture/redact.js';
import { startManifest } from '../../capture/manifest.js';
import { PipeReader } from '../../capture/pipeReader.js';
import type { SegmentMark } from './steadyState.js';

const SEGMENT_MAX_BYTES = 64 * 2 ** 20; // nitrace capture's default --segment-mb
const SEGMENT_MAX_SECONDS = 10; // and --segment-seconds

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: replayConsumer.js OUTDIR');
  mkdirSync(join(out, 'events'), { recursive: true });
  const manifest = startManifest('replay', { release: '', version: '', machine: '' }, {
    snaplen: 0, snaplen_ports: {}, greenlet: false, redact: true, pids: [], comms: [], ports: [], netns: [], command: null,
    segment_max_bytes: SEGMENT_MAX_BYTES, segment_max_seconds: SEGMENT_MAX_SECONDS, ring_buffer_bytes: 0,
  });
  let failure: string | null = null;
  let t0 = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  // when each segment was on disk, for the steady-state window (bench/replay/steadyState.ts)
  const marks: SegmentMark[] = [];
  let reader: PipeReader | null = null;
  const pipeline = new SegmentPipeline({
    out, manifest, redactor: new PayloadRedactor(), segmentMaxBytes: SEGMENT_MAX_BYTES, segmentMaxSeconds: SEGMENT_MAX_SECONDS, processes: null,
    pause: (paused) => reader?.pause(paused),
    fail: (m) => (failure ??= m),
    onSegmentWritten: (info) => {
      const c = process.cpuUsage(cpu0 ?? undefined);
      marks.push({ rows: info.rows, cpu_ns: (c.user + c.system) * 1000, seconds: (performance.now() - t0) / 1000 });
    },
  });
  const writer = await SegmentWriter.open('replay', 0n);
  pipeline.attachWriter(writer);
  process.stdout.write('ready\n'); // the caller starts the producer now (ring_replay --wait-stdin)
  const ticker = setInterval(() => pipeline.tick(), 250);
  // stdin (a pipe) read like the capture reads its agent: into one reused buffer (capture/pipeReader.ts)
  reader = new PipeReader(0, (chunk) => {
    if (!t0) {
      t0 = performance.now();
      cpu0 = process.cpuUsage(); // from the first record on: module loading and DuckDB start-up are not per-event work
    }
    pipeline.push(chunk);
  });
  await reader.ended;
  if (reader.error) throw reader.error;
  const readSeconds = t0 ? (performance.now() - t0) / 1000 : 0;
  const waitingAtEnd = pipeline.waiting;
  clearInterval(ticker);
  await pipeline.close();
  if (failure) throw new Error(failure);
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  const seconds = t0 ? (performance.now() - t0) / 1000 : 0;
  const bytes = manifest.segments.reduce((s, x) => s + x.bytes, 0);
  process.stdout.write(JSON.stringify({ events: manifest.events.written, segments: manifest.segments.length, bytes_on_disk: bytes, seconds, cpu_ns: (cpu.user + cpu.system) * 1000, read_seconds: readSeconds, waiting_at_end: waitingAtEnd, malformed: pipeline.decoder.malformed, segments_written: marks, zstd_engine: writer.zstdEngine }) + '\n');
}

main().catch((e: unknown) => {
  console.error(`replayConsumer: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
