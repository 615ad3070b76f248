/**
 * The events segment written in-process (SegmentWriter.write: eventColumns + writeParquet + zstd) holds exactly what
 * DuckDB's conversion of the same spool (testing/duckdbSpoolConversion.ts, the SQL capture-recover used until
 * session 6) held: same columns, types, nullability, values and row order; capture-recover's conversion of the spool
 * (SegmentWriter.convert: the spool read back, then the same write) gives the very same file; and a real sample's
 * events come through unchanged (no root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SegmentBuilder } from './segmentBuilder.js';
import { SegmentWriter } from './segmentWriter.js';
import { RecordDecoder } from './recordDecoder.js';
import { OFFSET, RINGBUF_HEADER_SIZE } from './eventLayout.js';
import { ringRecord } from '../testing/ringRecords.js';
import { seededRandom } from '../testing/seededRandom.js';
import { query } from '../testing/liveTestHelpers.js';
import { duckdbConvert } from '../testing/duckdbSpoolConversion.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { packageRoot } from '../core/version.js';

/** Events of every shape the kernel side sends: kinds, families (none, IPv4, IPv6), NULL-able fields, cut payloads. */
function records(n: number, seed: number): Buffer {
  const rand = seededRandom(seed);
  const out: Buffer[] = [];
  let mono = 1_700_000_000_000_000_000n;
  for (let i = 0; i < n; i++) {
    mono += BigInt(Math.floor(rand() * 5000));
    const kind = [1, 1, 1, 1, 2, 4, 5, 6][Math.floor(rand() * 8)]!;
    const len = kind === 1 ? Math.floor(rand() * 300) : 0;
    const payload = Buffer.from(Array.from({ length: len }, (_, k) => (rand() < 0.7 ? 0x61 + ((i + k) % 26) : Math.floor(rand() * 256))));
    const rec = ringRecord({
      monoNs: mono, conn: rand() < 0.1 ? 0n : BigInt(Math.floor(rand() * 2 ** 40)), pid: 100 + (i % 7), tid: 1000 + (i % 13),
      fd: kind === 6 ? -1 : Math.floor(rand() * 50), kind, direction: kind === 1 || kind === 5 ? 1 + Math.floor(rand() * 2) : 0,
      seq: Math.floor(rand() * 2 ** 32), bytes: len + (rand() < 0.2 ? Math.floor(rand() * 70000) : 0), payload,
      comm: `worker-${i % 5}`, localPort: Math.floor(rand() * 65536), remotePort: Math.floor(rand() * 65536),
    });
    const e = RINGBUF_HEADER_SIZE;
    const family = [0, 2, 2, 10][Math.floor(rand() * 4)]!;
    rec[e + OFFSET.family] = kind === 6 ? 0 : family;
    rec[e + OFFSET.syscall] = kind === 6 ? 0 : 1 + Math.floor(rand() * 18);
    if (family === 10) for (let k = 0; k < 16; k++) rec[e + OFFSET.localAddr + k] = k === 15 ? 1 : Math.floor(rand() * 3);
    rec.writeUInt32LE(Math.floor(rand() * 2 ** 32), e + OFFSET.netns);
    if (rand() < 0.5) rec.writeBigUInt64LE(BigInt(Math.floor(rand() * 2 ** 52)), e + OFFSET.gid);
    if (kind === 6) rec.writeBigUInt64LE(BigInt(Math.floor(rand() * 2 ** 52)), e + OFFSET.parentGid);
    out.push(rec);
  }
  return Buffer.concat(out);
}

/**
 * Both ways from one builder: DuckDB's conversion of the spool, and the in-process writer; and capture-recover's
 * conversion of the same spool, which must give the in-process writer's file byte for byte.
 */
async function bothWays(dir: string, recs: Buffer, node: string, offset: bigint, schemaVersion: number): Promise<{ duck: string; direct: string; rows: number }> {
  const builder = new SegmentBuilder(null);
  new RecordDecoder().push(recs, (b, o) => builder.add(b, o));
  const stats = builder.stats();
  const writer = await SegmentWriter.open(node, offset, schemaVersion);
  const spool = join(dir, 'seg.spool.parquet');
  await SegmentWriter.writeSpool(spool, builder.columns(), builder.rows);
  const duck = join(dir, `duck-${schemaVersion}.parquet`);
  const direct = join(dir, `direct-${schemaVersion}.parquet`);
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  await duckdbConvert(con, spool, duck, node, offset, schemaVersion, true);
  con.closeSync();
  const info = await writer.write(direct, 'direct', builder.columns(), stats);
  const recovered = await writer.convert(spool, join(dir, `recovered-${schemaVersion}.parquet`), 'direct');
  assert.equal(info.rows, builder.rows);
  assert.deepEqual(recovered, info, 'capture-recover writes the spool as the capture writes the segment');
  if (schemaVersion === 1) {
    // a spool of a schema-1 nitrace has no green-thread columns at all
    await SegmentWriter.writeSpool(spool, builder.columns().filter((c) => c.name !== 'gid' && c.name !== 'parent_gid'), builder.rows);
    assert.deepEqual(await writer.convert(spool, join(dir, 'recovered-v1-spool.parquet'), 'direct'), info, 'a spool without gid columns');
  }
  writer.close();
  return { duck, direct, rows: builder.rows };
}

async function assertSame(duck: string, direct: string, rows: number): Promise<void> {
  const schema = (f: string) => query(`SELECT name, type, repetition_type, converted_type FROM parquet_schema('${f}') WHERE name NOT LIKE '%schema'`);
  assert.deepEqual(await schema(direct), await schema(duck), 'physical types, nullability, converted types');
  const describe = (f: string) => query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${f}'))`);
  assert.deepEqual(await describe(direct), await describe(duck));
  const diff = (a: string, b: string) => query(`SELECT count(*)::INT FROM (SELECT * FROM read_parquet('${a}', file_row_number = true) EXCEPT ALL SELECT * FROM read_parquet('${b}', file_row_number = true))`);
  assert.deepEqual(await diff(direct, duck), [[0]]);
  assert.deepEqual(await diff(duck, direct), [[0]]);
  assert.deepEqual(await query(`SELECT count(*)::INT FROM read_parquet('${direct}')`), [[rows]]);
}

test('events segment written in-process = DuckDB conversion of the spool (every kind of row, NULLs, several row groups, schema 1 and 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-evcols-'));
  try {
    const recs = records(140_000, 7); // > 131 072 rows: two row groups, nine pages per column
    for (const version of [2, 1]) {
      const { duck, direct, rows } = await bothWays(dir, recs, "node-o'1", 1_764_000_000_000_000_000n, version);
      await assertSame(duck, direct, rows);
    }
    const nulls = await query(`SELECT count(*) FILTER (conn_id IS NULL)::INT > 0, count(*) FILTER (family IS NULL AND local_addr IS NULL)::INT > 0,
      count(*) FILTER (family = 'ipv6')::INT > 0, count(*) FILTER (payload_truncated)::INT > 0, count(*) FILTER (tcp_seq IS NULL)::INT > 0,
      count(*) FILTER (gid IS NULL)::INT > 0, count(*) FILTER (parent_gid IS NOT NULL)::INT > 0, count(*) FILTER (syscall IS NULL)::INT > 0
      FROM read_parquet('${join(dir, 'direct-2.parquet')}')`);
    assert.deepEqual(nulls, [[true, true, true, true, true, true, true, true]], 'the test covers every NULL-able column');
    // an empty segment
    const empty = await bothWays(dir, Buffer.alloc(0), 'n', 0n, 2);
    await assertSame(empty.duck, empty.direct, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('events segment written in-process: a shipped sample recording comes through unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-evcols-'));
  try {
    const sample = join(packageRoot, 'datasets', 'samples', 'tempest-compute-servers-v2', 'capture', 'events', '*.parquet');
    const src = await query<[bigint, bigint | null, number, number, number, bigint, bigint | null, bigint | null, number | null, number | null, string, string | null, string | null, string | null, string, { bytes: Uint8Array }, bigint | null]>(
      `SELECT mono_ns, conn_id, pid, tid, fd, bytes, tcp_seq, netns, local_port, remote_port, event, direction, family, local_addr, comm, payload, gid FROM read_parquet('${sample}') ORDER BY mono_ns LIMIT 60000`);
    assert.ok(src.length > 1000);
    const kinds: Record<string, number> = { data: 1, connect: 2, accept: 3, close: 4, block: 5, green_spawn: 6 };
    const recs = Buffer.concat(src.map(([mono, conn, pid, tid, fd, bytes, seq, netns, lport, rport, event, direction, family, , comm, payload, gid]) => {
      const rec = ringRecord({
        monoNs: mono, conn: conn ?? 0n, pid, tid, fd, kind: kinds[event]!, direction: direction === 'send' ? 1 : direction === 'recv' ? 2 : 0,
        seq: Number(seq ?? 0n), bytes: Number(bytes), payload: payload.bytes, comm, localPort: lport ?? 0, remotePort: rport ?? 0,
      });
      rec[RINGBUF_HEADER_SIZE + OFFSET.family] = family === 'ipv4' ? 2 : family === 'ipv6' ? 10 : 0;
      rec.writeUInt32LE(Number(BigInt.asUintN(32, netns ?? 0n)), RINGBUF_HEADER_SIZE + OFFSET.netns);
      rec.writeBigUInt64LE(gid ?? 0n, RINGBUF_HEADER_SIZE + OFFSET.gid);
      return rec;
    }));
    const { duck, direct, rows } = await bothWays(dir, recs, 'vm', 0n, 2);
    await assertSame(duck, direct, rows);
    assert.equal(rows, src.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
