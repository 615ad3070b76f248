/**
 * decodeRedactBench: what Node spends per event between the agent's pipe and a spool column (issue 9 item 2,
 * user-space part): RecordDecoder splitting ring records + SegmentBuilder copying fields and redacting payloads
 * (capture/redact/). No root, no kernel: real OpenStack events (the shipped samples: HTTP, MySQL, AMQP, memcached)
 * as raw ring records (bench/replay/sampleRecords.ts), fed in 64 KiB reads as the agent's pipe delivers them.
 *
 *   node dist/bench/decodeRedactBench.js [--quick] [--blocks N]
 *
 * Alternating pairs of blocks, "redaction off" and "redaction on", over the same records (each block on a fresh
 * copy: redaction rewrites payloads in place), order alternating pair to pair. Per block: CPU time of the process
 * (user + system, V8's GC threads included) per event; wall time would count the other jobs of a shared machine.
 * Reports each variant (t interval over blocks) and the redaction cost as the paired difference.
 * Writes bench/results/decode-redact-<time>.json; `make bench` can include it through decodeRedactSection().
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../core/version.js';
import { RecordDecoder } from '../capture/recordDecoder.js';
import { SegmentBuilder } from '../capture/segmentBuilder.js';
import { PayloadRedactor } from '../capture/redact.js';
import { buildReplayFile } from './replay/sampleRecords.js';
import { tInterval, pairedDifference, mean, type Interval } from './stats.js';
import { machineInfo, loadavg, writeResult } from './machine.js';

/** The user-space budget of issue 9: decode + redaction per event. */
export const TARGET_NS_PER_EVENT = 600;
const SAMPLES: [string, number][] = [['tempest-identity-image', 200_000], ['tempest-compute-servers', 93_000]];

/**
 * Builders whose memory the next segment reuses, per variant, kept across blocks: a long capture's steady state
 * (capture/segmentPipeline.ts recycles a builder once its spool is on disk; here the spool is taken as written at
 * once).
 */
const pools: Record<'on' | 'off', SegmentBuilder[]> = { on: [], off: [] };

/** One block: the records in 64 KiB pipe reads through the decoder into builders (rotated as the capture does). */
function runBlock(records: Buffer, events: number, redact: boolean): number {
  const copy = Buffer.from(records);
  const decoder = new RecordDecoder();
  const redactor = redact ? new PayloadRedactor() : null;
  const pool = pools[redact ? 'on' : 'off'];
  let builder = new SegmentBuilder(redactor, pool.shift());
  const c0 = process.cpuUsage();
  for (let at = 0; at < copy.length; at += 65536) {
    decoder.push(copy.subarray(at, Math.min(copy.length, at + 65536)), (buf, off) => builder.add(buf, off));
    if (builder.rows >= 100_000) {
      pool.push(builder);
      builder = new SegmentBuilder(redactor, pool.shift());
    }
  }
  const c = process.cpuUsage(c0);
  pool.push(builder);
  if (decoder.pendingBytes || decoder.malformed) throw new Error('decodeRedactBench: records did not split cleanly');
  return ((c.user + c.system) * 1000) / events;
}

const round = (i: Interval) => ({ ...i, value: Math.round(i.value), ci_low: Math.round(i.ci_low), ci_high: Math.round(i.ci_high) });

export async function decodeRedactSection(o: { blocks?: number; quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const blocks = o.blocks ?? (o.quick ? 4 : 10);
  const work = mkdtempSync(join(tmpdir(), 'nitrace-decode-'));
  let records: Buffer;
  let events = 0;
  let payloadBytes = 0;
  try {
    const parts: Buffer[] = [];
    for (const [name, max] of SAMPLES) {
      const f = await buildReplayFile(join(packageRoot, 'datasets', 'samples', name, 'capture'), join(work, `${name}.bin`), o.quick ? Math.floor(max / 4) : max, true);
      parts.push(readFileSync(f.path));
      events += f.records;
      payloadBytes += f.payload_bytes;
    }
    records = Buffer.concat(parts);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  runBlock(records, events, true); // warm-up: JIT, caches
  runBlock(records, events, false);
  const pairs: { off: number; on: number }[] = [];
  for (let b = 0; b < blocks; b++) {
    if (b % 2 === 0) {
      const off = runBlock(records, events, false);
      pairs.push({ off, on: runBlock(records, events, true) });
    } else {
      const on = runBlock(records, events, true);
      pairs.push({ off: runBlock(records, events, false), on });
    }
  }
  const on = tInterval(pairs.map((p) => p.on));
  return {
    events,
    payload_bytes_per_event: Math.round(payloadBytes / events),
    samples: SAMPLES.map(([s]) => s),
    blocks,
    decode_only_ns_per_event: round(tInterval(pairs.map((p) => p.off))),
    decode_and_redact_ns_per_event: round(on),
    redaction_added_ns_per_event: round(pairedDifference(pairs)),
    pairs: pairs.map((p) => ({ off: Math.round(p.off), on: Math.round(p.on) })),
    target_ns_per_event: TARGET_NS_PER_EVENT,
    meets_target: on.ci_high <= TARGET_NS_PER_EVENT,
    mean_on_ns: Math.round(mean(pairs.map((p) => p.on))),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--blocks');
  const quick = args.includes('--quick');
  const date = new Date().toISOString();
  const machine = machineInfo();
  const section = await decodeRedactSection({ quick, blocks: i >= 0 ? Number(args[i + 1]) : undefined });
  const result = { date, quick, machine, load_after: loadavg(), ...section };
  const file = writeResult('decode-redact', date, result);
  const line = (name: string, x: Interval) => `  ${name.padEnd(22)} ${String(x.value).padStart(7)} ns/event  [${x.ci_low}, ${x.ci_high}]`;
  process.stdout.write([
    `decode + redaction: ${section.events} events, ${section.payload_bytes_per_event} payload B/event, load ${machine.load_before} (CPU time per event)`,
    line('decode only', section.decode_only_ns_per_event as Interval),
    line('decode + redaction', section.decode_and_redact_ns_per_event as Interval),
    line('redaction added', section.redaction_added_ns_per_event as Interval),
    `  target <= ${TARGET_NS_PER_EVENT} ns/event (CI upper bound): ${section.meets_target ? 'met' : 'NOT met'}`,
    `-> ${file}`,
  ].join('\n') + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
