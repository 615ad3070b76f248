/** Segment rotation and back-pressure, without root: raw records in, segments out (capture/segmentPipeline.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SegmentPipeline } from './segmentPipeline.js';
import { SegmentWriter } from './segmentWriter.js';
import { PayloadRedactor } from './redact.js';
import { startManifest, type CaptureManifest } from './manifest.js';
import { ringRecord } from '../testing/ringRecords.js';
import { query } from '../testing/liveTestHelpers.js';

function newManifest(): CaptureManifest {
  return startManifest('t', { release: 'r', version: 'v', machine: 'm' }, {
    snaplen: 512, snaplen_ports: {}, greenlet: false, redact: true, pids: [], comms: [], ports: [], netns: [], command: null,
    segment_max_bytes: 0, segment_max_seconds: 0, ring_buffer_bytes: 0,
  });
}

/** `n` request/response events on one connection, with a token in each request. */
function records(n: number, t0 = 1_000_000n, path = '/v3'): Buffer {
  const parts: Buffer[] = [];
  let seq = 1;
  for (let i = 0; i < n; i++) {
    const p = `GET ${path} HTTP/1.1\r\nX-Auth-Token: secret${i}\r\n\r\n`;
    parts.push(ringRecord({ monoNs: t0 + BigInt(i) * 1000n, direction: 1, seq, payload: p }));
    seq += p.length;
  }
  return Buffer.concat(parts);
}

test('segment pipeline: rotation by size and by age, every segment listed and readable, redacted, no spool left', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nitrace-pipe-'));
  try {
    mkdirSync(join(out, 'events'));
    const manifest = newManifest();
    let clock = 0;
    const pauses: boolean[] = [];
    const failures: string[] = [];
    const p = new SegmentPipeline({ out, manifest, redactor: new PayloadRedactor(), segmentMaxBytes: 20_000, segmentMaxSeconds: 10, processes: null,
      pause: (x) => pauses.push(x), fail: (m) => failures.push(m), now: () => clock });
    p.attachWriter(await SegmentWriter.open('t', 0n));
    const all = records(500);
    for (let at = 0; at < all.length; at += 4096) p.push(all.subarray(at, at + 4096)); // size: ~20 kB per segment
    clock = 11_000; // age: the rest closes on the next tick
    p.push(records(3, 9_000_000n));
    p.tick();
    await p.close();
    assert.deepEqual(failures, []);
    assert.ok(manifest.segments.length >= 3, `${manifest.segments.length} segments`);
    assert.equal(manifest.events.written, 503);
    assert.equal(manifest.events.redacted, 503, 'every request had its token masked');
    const files = readdirSync(join(out, 'events')).sort();
    assert.deepEqual(files, manifest.segments.map((s) => s.file.slice(7)), 'exactly the listed segments, no spool or temp file');
    const [[rows, leaks, first]] = await query<[bigint, bigint, bigint]>(`SELECT count(*), count(*) FILTER (contains(decode(payload), 'secret')), min(mono_ns) FROM read_parquet('${out}/events/*.parquet')`);
    assert.equal(Number(rows), 503);
    assert.equal(Number(leaks), 0);
    assert.equal(manifest.segments[0]!.first_mono_ns, String(first), 'first/last mono_ns from the builder');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('segment pipeline: a builder reused once its spool is on disk holds only its own segment (larger ones before it)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nitrace-pipe-'));
  try {
    mkdirSync(join(out, 'events'));
    const manifest = newManifest();
    const p = new SegmentPipeline({ out, manifest, redactor: new PayloadRedactor(), segmentMaxBytes: 1 << 30, segmentMaxSeconds: 1000, processes: null, pause: () => {}, fail: assert.fail });
    p.attachWriter(await SegmentWriter.open('t', 0n));
    const sizes = [80, 50, 30, 60, 10];
    for (const [k, n] of sizes.entries()) {
      p.push(records(n, BigInt(k + 1) * 1_000_000_000n, `/k${k}`));
      p.rotate();
      while (p.waiting > 0) await new Promise((r) => setTimeout(r, 5)); // written: its builder is the next spare
    }
    await p.close();
    assert.deepEqual(manifest.segments.map((s) => s.rows), sizes);
    for (const [k, n] of sizes.entries()) {
      const file = join(out, manifest.segments[k]!.file);
      const [[rows, own, leaks, first, last]] = await query<[bigint, bigint, bigint, bigint, bigint]>(
        `SELECT count(*), count(*) FILTER (contains(decode(payload), ' /k${k} ')), count(*) FILTER (contains(decode(payload), 'secret')), min(mono_ns), max(mono_ns) FROM read_parquet('${file}')`);
      assert.deepEqual([rows, own, leaks].map(Number), [n, n, 0], `segment ${k}: only its own ${n} events, redacted`);
      assert.equal(String(first), manifest.segments[k]!.first_mono_ns);
      assert.equal(String(last), manifest.segments[k]!.last_mono_ns);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('segment pipeline: back-pressure pauses reading while two closed segments wait, resumes when they are written', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nitrace-pipe-'));
  try {
    mkdirSync(join(out, 'events'));
    const manifest = newManifest();
    const pauses: boolean[] = [];
    const p = new SegmentPipeline({ out, manifest, redactor: null, segmentMaxBytes: 1, segmentMaxSeconds: 10, processes: null, pause: (x) => pauses.push(x), fail: () => {} });
    // No writer yet (the capture waits for the agent's clock): segments pile up.
    p.push(records(1));
    p.push(records(1, 2_000_000n));
    p.push(records(1, 3_000_000n));
    assert.ok(p.waiting >= 2);
    assert.equal(pauses[0], true, 'paused at two waiting segments');
    p.attachWriter(await SegmentWriter.open('t', 0n));
    await p.close();
    assert.equal(pauses.at(-1), false, 'resumed');
    assert.equal(manifest.events.written, 3);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('segment pipeline: a disk error stops it with a message naming the file; no half-written file is left', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nitrace-pipe-'));
  try {
    writeFileSync(join(out, 'events'), 'not a directory');
    const failures: string[] = [];
    const p = new SegmentPipeline({ out, manifest: newManifest(), redactor: null, segmentMaxBytes: 1, segmentMaxSeconds: 10, processes: null, pause: () => {}, fail: (m) => failures.push(m) });
    p.attachWriter(await SegmentWriter.open('t', 0n));
    p.push(records(2));
    await p.close();
    assert.equal(failures.length, 1);
    assert.match(failures[0]!, /cannot write .*seg-000001\.parquet/);
    p.push(records(2, 5_000_000n));
    await p.close();
    assert.equal(failures.length, 1, 'stopped: nothing more is taken');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
