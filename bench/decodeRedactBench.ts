/**
 * decodeRedactBench: what Node spends per event between the agent's pipe and a spool column (issue 9 item 2,
 * user-space part): RecordDecoder splitting ring records + SegmentBuilder copying fields and redacting payloads
 * (capture/redact/). No root, no kernel: real OpenStack events (the shipped samples: HTTP, MySQL, AMQP, memcached)
 * as raw ring records (bench/replay/sampleRecords.ts), fed in 64 KiB reads as the agent's pipe delivers them.
 *
 *   node dist/bench/decodeRedactBench.js [--quick] [--blocks N] [--baseline DIR]
 *
 * Alternating pairs of blocks, "redaction off" and "redaction on", over the same records (each block on a fresh
 * copy: redaction rewrites payloads in place), order alternating pair to pair. Per block: CPU time of the process
 * (user + system, V8's GC threads included) per event; wall time would count the other jobs of a shared machine.
 * Reports each variant (t interval over blocks) and the redaction cost as the paired difference.
 * `--baseline DIR`: another checkout built with `make build` (e.g. `git worktree add --detach DIR <old commit>`);
 * every pair gains a third block, DIR's decoder + builder + redactor with redaction on, in the same process and in
 * rotating order, and `vs_baseline` gives this checkout's decode + redaction against DIR's, pair by pair, and
 * whether both wrote the same redacted payload column (a faster redactor must not redact differently).
 * Writes bench/results/decode-redact-<time>.json; `make bench` can include it through decodeRedactSection().
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageRoot } from '../core/version.js';
import { RecordDecoder } from '../capture/recordDecoder.js';
import { SegmentBuilder } from '../capture/segmentBuilder.js';
import { PayloadRedactor } from '../capture/redact.js';
import { OFFSET, EVENT_HEADER_SIZE } from '../capture/eventLayout.js';
import { buildReplayFile } from './replay/sampleRecords.js';
import { tInterval, pairedDifference, pairedRatio, mean, type Interval } from './stats.js';
import { machineInfo, loadavg, writeResult } from './machine.js';

/** The user-space budget of issue 9: decode + redaction per event. */
export const TARGET_NS_PER_EVENT = 600;
const SAMPLES: [string, number][] = [['tempest-identity-image', 200_000], ['tempest-compute-servers', 93_000]];

/**
 * Builders whose memory the next segment reuses, per variant, kept across blocks: a long capture's steady state
 * (capture/segmentPipeline.ts recycles a builder once its spool is on disk; here the spool is taken as written at
 * once).
 */
const pools: Record<'on' | 'off' | 'baseline', SegmentBuilder[]> = { on: [], off: [], baseline: [] };

/** The classes a block runs: this checkout's, or a baseline checkout's (--baseline). */
interface Library {
  RecordDecoder: typeof RecordDecoder;
  SegmentBuilder: typeof SegmentBuilder;
  PayloadRedactor: typeof PayloadRedactor;
}
const THIS: Library = { RecordDecoder, SegmentBuilder, PayloadRedactor };

async function loadBaseline(dir: string): Promise<Library> {
  const url = (m: string) => pathToFileURL(join(resolve(dir), 'dist', 'capture', m)).href;
  try {
    return {
      RecordDecoder: ((await import(url('recordDecoder.js'))) as { RecordDecoder: typeof RecordDecoder }).RecordDecoder,
      SegmentBuilder: ((await import(url('segmentBuilder.js'))) as { SegmentBuilder: typeof SegmentBuilder }).SegmentBuilder,
      PayloadRedactor: ((await import(url('redact.js'))) as { PayloadRedactor: typeof PayloadRedactor }).PayloadRedactor,
    };
  } catch (e) {
    throw new Error(`--baseline ${dir}: cannot load its dist/capture modules (built with make build?): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** One block: the records in 64 KiB pipe reads through the decoder into builders (rotated as the capture does). */
function runBlock(records: Buffer, events: number, redact: boolean, lib: Library = THIS): number {
  const copy = Buffer.from(records);
  const decoder = new lib.RecordDecoder();
  const redactor = redact ? new lib.PayloadRedactor() : null;
  const pool = pools[lib !== THIS ? 'baseline' : redact ? 'on' : 'off'];
  let builder = new lib.SegmentBuilder(redactor, pool.shift());
  const c0 = process.cpuUsage();
  for (let at = 0; at < copy.length; at += 65536) {
    decoder.push(copy.subarray(at, Math.min(copy.length, at + 65536)), (buf, off) => builder.add(buf, off));
    if (builder.rows >= 100_000) {
      pool.push(builder);
      builder = new lib.SegmentBuilder(redactor, pool.shift());
    }
  }
  const c = process.cpuUsage(c0);
  pool.push(builder);
  if (decoder.pendingBytes || decoder.malformed) throw new Error('decodeRedactBench: records did not split cleanly');
  return ((c.user + c.system) * 1000) / events;
}

/**
 * The spool payload column of every segment a redacting run over `records` builds (redacted bytes, in the builder's
 * row order), concatenated: what reaches disk. Fresh builders (no pool): the timed blocks' memory stays untouched.
 */
function redactedPayloads(records: Buffer, lib: Library): Buffer {
  const copy = Buffer.from(records);
  const decoder = new lib.RecordDecoder();
  const redactor = new lib.PayloadRedactor();
  const parts: Buffer[] = [];
  let builder = new lib.SegmentBuilder(redactor);
  const take = () => parts.push(Buffer.from(builder.columns().find((c) => c.name === 'payload')!.data));
  for (let at = 0; at < copy.length; at += 65536) {
    decoder.push(copy.subarray(at, Math.min(copy.length, at + 65536)), (buf, off) => builder.add(buf, off));
    if (builder.rows >= 100_000) {
      take();
      builder = new lib.SegmentBuilder(redactor);
    }
  }
  take();
  return Buffer.concat(parts);
}

/**
 * The records with their secrets back: the samples were recorded with redaction on, so their secrets are already
 * runs of '*', which a redactor that missed them would leave unchanged. Every run of 4 or more '*' in a payload
 * becomes 'Q's (a base64 letter: token and hash rules mask it again); a redactor's output on these shows what it
 * masks. (Digits masked to '9' cannot be told from real ones and stay.)
 */
function withSecretsBack(records: Buffer): Buffer {
  const copy = Buffer.from(records);
  const decoder = new RecordDecoder();
  decoder.push(copy, (buf, off) => {
    if (buf !== copy) return; // a record split in the decoder's staging memory: not in one push of the whole buffer
    const start = off + EVENT_HEADER_SIZE;
    const end = start + buf.readUInt32LE(off + OFFSET.payloadLen);
    for (let i = start; i < end; ) {
      if (buf[i] !== 0x2a) {
        i++;
        continue;
      }
      let j = i;
      while (j < end && buf[j] === 0x2a) j++;
      if (j - i >= 4) buf.fill(0x51, i, j);
      i = j;
    }
  });
  return copy;
}

/**
 * Do this checkout and the baseline write the same redacted payload bytes (on the records with their secrets back)?
 * Differing bytes counted.
 */
function compareOutputs(records: Buffer, base: Library): { redacted_payloads_identical: boolean; payload_column_bytes: number; differing_bytes: number } {
  const secrets = withSecretsBack(records);
  const a = redactedPayloads(secrets, THIS);
  const b = redactedPayloads(secrets, base);
  let differing = Math.abs(a.length - b.length);
  for (let i = 0, n = Math.min(a.length, b.length); i < n; i++) if (a[i] !== b[i]) differing++;
  return { redacted_payloads_identical: differing === 0, payload_column_bytes: a.length, differing_bytes: differing };
}

const round = (i: Interval) => ({ ...i, value: Math.round(i.value), ci_low: Math.round(i.ci_low), ci_high: Math.round(i.ci_high) });

export async function decodeRedactSection(o: { blocks?: number; quick?: boolean; baseline?: string } = {}): Promise<Record<string, unknown>> {
  const base = o.baseline ? await loadBaseline(o.baseline) : null;
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
  const outputs = base ? compareOutputs(records, base) : null;
  runBlock(records, events, true); // warm-up: JIT, caches
  runBlock(records, events, false);
  if (base) runBlock(records, events, true, base);
  const pairs: { off: number; on: number; baseline?: number }[] = [];
  for (let b = 0; b < blocks; b++) {
    // the arms in an order rotating from pair to pair (off/on alternate as without a baseline)
    const arms: ('off' | 'on' | 'baseline')[] = b % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    if (base) arms.splice(b % 3, 0, 'baseline');
    const pair: { off: number; on: number; baseline?: number } = { off: 0, on: 0 };
    for (const arm of arms) pair[arm] = arm === 'baseline' ? runBlock(records, events, true, base!) : runBlock(records, events, arm === 'on');
    pairs.push(pair);
  }
  const on = tInterval(pairs.map((p) => p.on));
  const vsBaseline = base
    ? {
        baseline: o.baseline,
        baseline_git_commit: spawnSync('git', ['-C', o.baseline!, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || null,
        baseline_decode_and_redact_ns_per_event: round(tInterval(pairs.map((p) => p.baseline!))),
        difference_ns_per_event: round(pairedDifference(pairs.map((p) => ({ off: p.baseline!, on: p.on })))),
        ratio_this_over_baseline: pairedRatio(pairs.map((p) => ({ off: p.baseline!, on: p.on }))),
        ...outputs,
      }
    : null;
  return {
    vs_baseline: vsBaseline,
    events,
    payload_bytes_per_event: Math.round(payloadBytes / events),
    samples: SAMPLES.map(([s]) => s),
    blocks,
    decode_only_ns_per_event: round(tInterval(pairs.map((p) => p.off))),
    decode_and_redact_ns_per_event: round(on),
    redaction_added_ns_per_event: round(pairedDifference(pairs)),
    pairs: pairs.map((p) => ({ off: Math.round(p.off), on: Math.round(p.on), ...(p.baseline !== undefined ? { baseline: Math.round(p.baseline) } : {}) })),
    target_ns_per_event: TARGET_NS_PER_EVENT,
    meets_target: on.ci_high <= TARGET_NS_PER_EVENT,
    mean_on_ns: Math.round(mean(pairs.map((p) => p.on))),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--blocks');
  const quick = args.includes('--quick');
  const b = args.indexOf('--baseline');
  const date = new Date().toISOString();
  const machine = machineInfo();
  const section = await decodeRedactSection({ quick, blocks: i >= 0 ? Number(args[i + 1]) : undefined, baseline: b >= 0 ? args[b + 1] : undefined });
  const result = { date, quick, machine, load_after: loadavg(), ...section };
  const file = writeResult('decode-redact', date, result);
  const vs = section.vs_baseline as { baseline_decode_and_redact_ns_per_event: Interval; difference_ns_per_event: Interval; redacted_payloads_identical: boolean; differing_bytes: number } | null;
  const line = (name: string, x: Interval) => `  ${name.padEnd(22)} ${String(x.value).padStart(7)} ns/event  [${x.ci_low}, ${x.ci_high}]`;
  process.stdout.write([
    `decode + redaction: ${section.events} events, ${section.payload_bytes_per_event} payload B/event, load ${machine.load_before} (CPU time per event)`,
    line('decode only', section.decode_only_ns_per_event as Interval),
    line('decode + redaction', section.decode_and_redact_ns_per_event as Interval),
    line('redaction added', section.redaction_added_ns_per_event as Interval),
    `  target <= ${TARGET_NS_PER_EVENT} ns/event (CI upper bound): ${section.meets_target ? 'met' : 'NOT met'}`,
    ...(vs
      ? [
          line('baseline decode + red.', vs.baseline_decode_and_redact_ns_per_event),
          line('this - baseline', vs.difference_ns_per_event),
          `  redacted payloads vs baseline: ${vs.redacted_payloads_identical ? 'identical' : `DIFFER in ${vs.differing_bytes} bytes`}`,
        ]
      : []),
    `-> ${file}`,
  ].join('\n') + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
