/** SegmentBuilder's spool columns come out in mono_ns order whatever order events arrive in (no root). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SegmentBuilder } from './segmentBuilder.js';
import { SegmentWriter } from './segmentWriter.js';
import { RecordDecoder } from './recordDecoder.js';
import { ringRecord } from '../testing/ringRecords.js';
import { query } from '../testing/liveTestHelpers.js';

interface Ev { mono: bigint; tid: number; conn: bigint; port: number; payload: string }

/** Two "CPUs" whose events are each in order, delivered in batches (as the consumer drains per-CPU rings), with ties. */
function interleaved(n: number, t0: bigint, step: bigint, batch = 5): Ev[] {
  const cpu = (c: number): Ev[] => Array.from({ length: n }, (_, i) => ({
    mono: t0 + BigInt(i) * step + (i % 7 === 0 ? 0n : BigInt(c)), tid: 10 + c, conn: BigInt(100 + c), port: 40000 + c,
    payload: c === 0 && i % 3 === 0 ? 'x'.repeat(70 + (i % 50)) : `cpu${c} event ${i} ${'y'.repeat(i % 9)}`,
  }));
  const a = cpu(0), b = cpu(1), out: Ev[] = [];
  for (let i = 0; i < n; i += batch) out.push(...b.slice(i, i + batch), ...a.slice(i, i + batch));
  return out;
}

async function build(builder: SegmentBuilder, evs: Ev[], dir: string, name: string): Promise<[bigint, number, bigint, number, string, string][]> {
  const dec = new RecordDecoder();
  dec.push(Buffer.concat(evs.map((e) => ringRecord({ monoNs: e.mono, tid: e.tid, pid: e.tid, conn: e.conn, localPort: e.port, payload: e.payload, comm: `c${e.tid}` }))), (b, o) => builder.add(b, o));
  const stats = builder.stats();
  assert.equal(stats.sorted, true);
  const writer = await SegmentWriter.open('t', 0n);
  await writer.write(join(dir, `${name}.parquet`), name, builder.columns(), stats);
  writer.close();
  return query(`SELECT mono_ns, tid, conn_id, local_port, comm, decode(payload) FROM read_parquet('${join(dir, `${name}.parquet`)}')`);
}

/** What the segment must hold: the events stably sorted by mono_ns, each row's fields with it. */
function expected(evs: Ev[]): [bigint, number, bigint, number, string, string][] {
  return evs.map((e, i) => [e, i] as const).sort((x, y) => (x[0].mono < y[0].mono ? -1 : x[0].mono > y[0].mono ? 1 : x[1] - y[1]))
    .map(([e]) => [e.mono, e.tid, e.conn, e.port, `c${e.tid}`, e.payload]);
}

test('segment builder: events out of order (per-CPU batches, ties) are written in mono_ns order, ties in arrival order, every field with its row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-builder-'));
  try {
    const first = new SegmentBuilder(null);
    const a = interleaved(300, 1_000_000_000n, 1000n);
    assert.deepEqual(await build(first, a, dir, 'a'), expected(a));
    // recycled: the sort's memory is reused for a smaller segment
    const b = interleaved(40, 5_000_000_000n, 3n);
    assert.deepEqual(await build(new SegmentBuilder(null, first), b, dir, 'b'), expected(b));
    // a segment spanning more than the 64-bit keys can hold with the row number: the comparison sort
    const c = interleaved(20, 1n, 2n ** 55n);
    assert.deepEqual(await build(new SegmentBuilder(null), c, dir, 'c'), expected(c));
    // few long batches: the runs are merged (capture/naturalMerge.ts), not sorted
    const e = interleaved(1000, 7_000_000_000n, 1000n, 60);
    assert.deepEqual(await build(new SegmentBuilder(null), e, dir, 'e'), expected(e));
    // a stream that starts over (the replay benchmark cycling its input): two ordered runs
    const f = [...expected(e), ...expected(b)].map(([mono, tid, conn, port, , payload]) => ({ mono, tid, conn, port, payload }));
    assert.deepEqual(await build(new SegmentBuilder(null), f, dir, 'f'), expected(f));
    // several pages (16384 rows each) of merged runs: each page's payloads copied from their rows in arrival order
    const g = interleaved(20000, 9_000_000_000n, 1000n, 700);
    assert.deepEqual(await build(new SegmentBuilder(null), g, dir, 'g'), expected(g));
    // already in order: written as is
    const d = expected(a).map(([mono, tid, conn, port, , payload]) => ({ mono, tid, conn, port, payload }));
    assert.deepEqual(await build(new SegmentBuilder(null), d, dir, 'd'), expected(d));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
