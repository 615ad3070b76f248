import { join } from 'node:path';
import { RecordDecoder } from './recordDecoder.js';
import { SegmentBuilder } from './segmentBuilder.js';
import { SegmentWriter } from './segmentWriter.js';
import { writeManifest, type CaptureManifest } from './manifest.js';
import type { PayloadRedactor } from './redact.js';
import type { ProcessTable } from './processTable.js';

export const SPOOL_SUFFIX = '.spool.parquet';

export function segmentName(n: number): string {
  return `seg-${String(n).padStart(6, '0')}`;
}

export interface SegmentPipelineOptions {
  /** Capture directory: segments go to `events/`, processes.parquet and manifest.json beside it. */
  out: string;
  /** Updated in place (segments, events) and rewritten after every segment. */
  manifest: CaptureManifest;
  /** null: --no-redact. One redactor for the whole capture (its per-connection state spans segments). */
  redactor: PayloadRedactor | null;
  segmentMaxBytes: number;
  segmentMaxSeconds: number;
  /** Processes to describe in processes.parquet (null: none, as in the replay benchmark). */
  processes: ProcessTable | null;
  /** Back-pressure: stop (true) or resume (false) reading records. */
  pause: (paused: boolean) => void;
  /** A disk error: the pipeline stops taking records; the capture stops. */
  fail: (message: string) => void;
  /** Clock for time-based rotation (ms), replaceable in tests. */
  now?: () => number;
  /** Called when a segment is on disk (its manifest entry), after the manifest is rewritten. */
  onSegmentWritten?: (segment: CaptureManifest['segments'][number]) => void;
}

/**
 * Segment rotation and back-pressure: records in, Parquet segments out. Records are decoded and redacted into a
 * SegmentBuilder; when it holds `segmentMaxBytes` or is `segmentMaxSeconds` old, it is closed and, in the
 * background, written as zstd Parquet (capture/segmentWriter.ts) one segment after the other. While two closed
 * segments wait, reading pauses: the agent's pipe fills, it stops draining, and the kernel ring buffer (whose
 * overflows are counted) absorbs the burst. Conversions start once a writer is attached (it needs the agent's
 * clock), so records can arrive before that.
 */
export class SegmentPipeline {
  readonly decoder = new RecordDecoder();
  private builder: SegmentBuilder;
  private started: number;
  private segments = 0;
  private pending = 0;
  private failed = false;
  private conversions: Promise<void> = Promise.resolve();
  private readonly writer: Promise<SegmentWriter>;
  private attach!: (w: SegmentWriter) => void;
  private readonly now: () => number;
  private readonly add = (buf: Buffer, off: number): void => this.builder.add(buf, off);
  /** A builder whose segment is written: the next segment reuses its memory (SegmentBuilder's constructor). */
  private spare: SegmentBuilder | null = null;

  constructor(private readonly o: SegmentPipelineOptions) {
    this.builder = new SegmentBuilder(o.redactor, undefined, o.segmentMaxBytes);
    this.now = o.now ?? Date.now;
    this.started = this.now();
    this.writer = new Promise((r) => (this.attach = r));
  }

  /** Bytes read from the agent (any split of its record stream). */
  push(chunk: Buffer): void {
    if (this.failed) return;
    this.decoder.push(chunk, this.add);
    this.o.processes?.observe(this.builder.pids);
    if (this.builder.byteSize >= this.o.segmentMaxBytes || this.now() - this.started >= this.o.segmentMaxSeconds * 1000) this.rotate();
  }

  /** Called periodically: closes a segment that reached its age even when no records arrive. */
  tick(): void {
    if (this.now() - this.started >= this.o.segmentMaxSeconds * 1000) this.rotate();
  }

  attachWriter(writer: SegmentWriter): void {
    this.attach(writer);
  }

  /** Segments closed so far and still waiting to be written. */
  get waiting(): number {
    return this.pending;
  }

  /** Close the current segment (if it holds rows) and write it in the background. */
  rotate(): void {
    if (this.builder.rows === 0 || this.failed) return;
    const full = this.builder;
    const stats = full.stats();
    this.builder = new SegmentBuilder(this.o.redactor, this.spare ?? undefined, this.o.segmentMaxBytes);
    this.spare = null;
    this.started = this.now();
    const name = segmentName(++this.segments);
    const events = join(this.o.out, 'events');
    const m = this.o.manifest;
    m.events.redacted += full.redacted;
    if (++this.pending >= 2) this.o.pause(true);
    this.conversions = this.conversions.then(async () => {
      try {
        if (this.failed) return;
        const writer = await this.writer;
        const final = join(events, `${name}.parquet`);
        try {
          const info = await writer.write(final, `events/${name}.parquet`, full.columns(writer.scratch), stats);
          this.spare ??= full; // its columns are on disk now
          m.segments.push(info);
          m.events.written += info.rows;
          if (this.o.processes) await writer.writeProcesses(join(this.o.out, 'processes.parquet'), this.o.processes.all());
          writeManifest(this.o.out, m);
          this.o.onSegmentWritten?.(info);
        } catch (e) {
          this.stop(diskError(e, final));
        }
      } finally {
        if (--this.pending < 2) this.o.pause(false);
      }
    });
  }

  /** Close the last segment and wait until every closed segment is on disk (or failed). */
  async close(): Promise<void> {
    this.rotate();
    await this.conversions;
  }

  private stop(message: string): void {
    this.failed = true;
    this.o.fail(message);
  }
}

export function diskError(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || /No space left/i.test(String(e))) {
    return `disk full while writing ${path}; stopped. Segments closed before it are intact (see manifest.json).`;
  }
  return `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`;
}
