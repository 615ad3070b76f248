import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';
import { writePlainParquet, writeParquet, PHYSICAL, ROW_GROUP_ROWS } from './plainParquet.js';
import { GrowableBuffer } from './growableBuffer.js';

test('writePlainParquet: DuckDB reads back every type, including long lists of columns and empty values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pq-'));
  try {
    const n = 1000;
    const i64 = new GrowableBuffer(8);
    const i32 = new GrowableBuffer(8);
    const text = new GrowableBuffer(8);
    const blob = new GrowableBuffer(8);
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(i) * 1_000_000_007n - 5n);
      i64.copyFrom(b, 0, 8);
      const c = Buffer.alloc(4);
      c.writeInt32LE(-i);
      i32.copyFrom(c, 0, 4);
      text.byteArray(Buffer.from(i % 3 ? `t${i}é` : ''));
      blob.byteArray(Buffer.from([i & 0xff, 0, 0xff]));
    }
    const path = join(dir, 'x.parquet');
    const cols = [
      { name: 'a', type: PHYSICAL.INT64, data: i64.bytes() },
      { name: 'b', type: PHYSICAL.INT32, data: i32.bytes() },
      { name: 's', type: PHYSICAL.BYTE_ARRAY, utf8: true, data: text.bytes() },
      { name: 'p', type: PHYSICAL.BYTE_ARRAY, data: blob.bytes() },
    ];
    // More than 15 columns exercises the long form of Thrift list headers.
    for (let k = 0; k < 14; k++) cols.push({ name: `c${k}`, type: PHYSICAL.INT32, data: i32.bytes() });
    await writePlainParquet(path, cols, n);
    const con = await (await DuckDBInstance.create()).connect();
    const rows = (await con.runAndReadAll(`SELECT a, b, s, hex(p), c13 FROM read_parquet('${path}') ORDER BY b DESC`)).getRows();
    assert.equal(rows.length, n);
    assert.deepEqual(rows[0], [-5n, 0, '', '0000FF', 0]);
    assert.deepEqual(rows[998], [998n * 1_000_000_007n - 5n, -998, 't998é', 'E600FF', -998]);
    assert.deepEqual(rows[999], [999n * 1_000_000_007n - 5n, -999, '', 'E700FF', -999]);
    con.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writePlainParquet overwrite: a longer file written over in place holds exactly the new one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pq-'));
  try {
    const path = join(dir, 'x.parquet');
    const column = (n: number, fill: number) => {
      const b = new GrowableBuffer(8);
      for (let i = 0; i < n; i++) b.byteArray(Buffer.alloc(100, fill));
      return [{ name: 'p', type: PHYSICAL.BYTE_ARRAY, data: b.bytes() }];
    };
    const long = await writePlainParquet(path, column(1000, 1), 1000);
    const short = await writePlainParquet(path, column(10, 2), 10, true);
    assert.ok(short < long);
    assert.equal(statSync(path).size, short, 'cut to the new length');
    const con = await (await DuckDBInstance.create()).connect();
    const rows = (await con.runAndReadAll(`SELECT count(*)::INT, count(DISTINCT hex(p))::INT, min(hex(p)) = repeat('02', 100), max(octet_length(p))::INT FROM read_parquet('${path}')`)).getRows();
    assert.deepEqual(rows[0], [10, 1, true, 100]);
    con.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writePlainParquet: rows past ROW_GROUP_ROWS go to further row groups, every value in its row and order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pq-'));
  try {
    const n = 2 * ROW_GROUP_ROWS + 123;
    const i64 = new GrowableBuffer(8);
    const i32 = new GrowableBuffer(8);
    const text = new GrowableBuffer(8);
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(i) * 3n);
      i64.copyFrom(b, 0, 8);
      b.writeInt32LE(-i);
      i32.copyFrom(b, 0, 4);
      text.byteArray(Buffer.from('x'.repeat(i % 50)));
    }
    const path = join(dir, 'x.parquet');
    await writePlainParquet(path, [
      { name: 'a', type: PHYSICAL.INT64, data: i64.bytes() },
      { name: 'b', type: PHYSICAL.INT32, data: i32.bytes() },
      { name: 's', type: PHYSICAL.BYTE_ARRAY, utf8: true, data: text.bytes() },
    ], n);
    const con = await (await DuckDBInstance.create()).connect();
    const groups = (await con.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INT FROM parquet_metadata('${path}')`)).getRows();
    assert.deepEqual(groups[0], [3]);
    const rows = (await con.runAndReadAll(`SELECT count(*)::INT, count(*) FILTER (a <> file_row_number * 3 OR b <> -file_row_number OR length(s) <> file_row_number % 50)::INT
      FROM read_parquet('${path}', file_row_number = true)`)).getRows();
    assert.deepEqual(rows[0], [n, 0]);
    con.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeParquet statistics: min/max per row group of INT64/INT32 columns, read by DuckDB as it reads its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pq-'));
  try {
    const n = 5000;
    const i64 = new GrowableBuffer(8);
    const i32 = new GrowableBuffer(8);
    const present = new Uint8Array(n);
    const b = Buffer.alloc(8);
    for (let i = 0; i < n; i++) {
      // unordered, negative and > 2^32 values: the comparison must be signed over both words
      const v = BigInt((i * 7919) % n) * 3_000_000_001n - 6_000_000_000_000n;
      b.writeBigInt64LE(v);
      i64.copyFrom(b, 0, 8);
      present[i] = i % 3 ? 1 : 0;
      if (present[i]) {
        b.writeInt32LE(((i * 31) % 1000) - 500);
        i32.copyFrom(b, 0, 4);
      }
    }
    const path = join(dir, 'x.parquet');
    await writeParquet(path, [
      { name: 'a', type: PHYSICAL.INT64, data: i64.bytes(), optional: true, statistics: true },
      { name: 'b', type: PHYSICAL.INT32, data: i32.bytes(), present, statistics: true },
      { name: 'c', type: PHYSICAL.INT32, data: i32.bytes(), present },
    ], n, { rowGroupRows: 2048, pageRows: 512 });
    const con = await (await DuckDBInstance.create()).connect();
    const meta = (await con.runAndReadAll(`SELECT row_group_id, path_in_schema, stats_min_value, stats_max_value, stats_min, stats_max, stats_null_count FROM parquet_metadata('${path}') ORDER BY 1, 2`)).getRows();
    const truth = (await con.runAndReadAll(`SELECT (rn // 2048)::BIGINT g, min(a)::VARCHAR, max(a)::VARCHAR, min(b)::VARCHAR, max(b)::VARCHAR, count(*) FILTER (WHERE b IS NULL)
      FROM (SELECT row_number() OVER () - 1 AS rn, a, b FROM read_parquet('${path}')) GROUP BY 1 ORDER BY 1`)).getRows();
    assert.equal(truth.length, 3);
    for (const [g, amin, amax, bmin, bmax, bnulls] of truth) {
      const rows = meta.filter((r) => BigInt(r[0] as bigint) === g);
      assert.deepEqual(rows.find((r) => r[1] === 'a')!.slice(2), [amin, amax, amin, amax, 0n]);
      assert.deepEqual(rows.find((r) => r[1] === 'b')!.slice(2), [bmin, bmax, bmin, bmax, bnulls]);
      assert.equal(rows.find((r) => r[1] === 'c')![2], null); // not asked for
    }
    // a filter on the column skips row groups by them and still finds the rows
    const hit = (await con.runAndReadAll(`SELECT count(*) FROM read_parquet('${path}') WHERE a = ${truth[1]![1]}`)).getRows();
    assert.equal(hit[0]![0], 1n);
    con.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeParquet dictionary: RLE_DICTIONARY text columns (NULLs, a page of only NULLs, several row groups, zstd or not) read back as their values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pq-'));
  try {
    const n = 5000;
    const names = ['data', 'connect', '', 'é close'];
    const values = new GrowableBuffer(8);
    for (const v of names) values.byteArray(Buffer.from(v));
    const present = new Uint8Array(n);
    const indices: number[] = [];
    const expected: (string | null)[] = [];
    for (let i = 0; i < n; i++) {
      // rows 1024..1535 (one whole page) are all NULL
      present[i] = (i >= 1024 && i < 1536) || i % 5 === 0 ? 0 : 1;
      const k = (i * 7) % names.length;
      if (present[i]) indices.push(k);
      expected.push(present[i] ? names[k]! : null);
    }
    const dictionary = { values: values.bytes(), size: names.length };
    const { zstdCodec, zstdEngines } = await import('./segmentCodec.js');
    for (const codec of [undefined, ...(await Promise.all(zstdEngines().map((e) => zstdCodec(e))))]) {
      const path = join(dir, `x${codec ? `z-${codec.engine}` : ''}.parquet`);
      await writeParquet(path, [
        { name: 'i', type: PHYSICAL.INT32, data: new Uint8Array(Int32Array.from({ length: n }, (_, i) => i).buffer) },
        { name: 'd', type: PHYSICAL.BYTE_ARRAY, utf8: true, data: Uint8Array.from(indices), present, dictionary },
        { name: 'one', type: PHYSICAL.BYTE_ARRAY, utf8: true, data: new Uint8Array(n), optional: true, dictionary: { values: values.bytes().subarray(0, 8), size: 1 } },
      ], n, { rowGroupRows: 2048, pageRows: 512, codec });
      const con = await (await DuckDBInstance.create()).connect();
      const rows = (await con.runAndReadAll(`SELECT d, one, typeof(d) FROM read_parquet('${path}') ORDER BY i`)).getRows();
      assert.deepEqual(rows.map((r) => r[0]), expected);
      assert.ok(rows.every((r) => r[1] === 'data' && r[2] === 'VARCHAR'));
      const enc = (await con.runAndReadAll(`SELECT DISTINCT encodings FROM parquet_metadata('${path}') WHERE path_in_schema = 'd'`)).getRows();
      assert.match(String(enc[0]![0]), /RLE_DICTIONARY/);
      con.closeSync();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeParquet source order: values kept in arrival order are written in the order of their runs, across pages and row groups', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pq-'));
  try {
    const n = 3000;
    // source rows: value s is `s` repeated, short and long (> 64 bytes) values
    const data = new GrowableBuffer(8);
    const lengths = new Uint32Array(n);
    const text = (s: number) => `${s}:`.repeat(1 + ((s * 37) % 40));
    const at = new Uint32Array(n + 1);
    for (let s = 0; s < n; s++) {
      at[s] = data.length;
      const b = Buffer.from(text(s));
      data.byteArray(b);
      lengths[s] = b.length;
    }
    at[n] = data.length;
    // the output order: blocks of 1..300 source rows, taken from the end backwards (runs spanning page boundaries)
    const run: number[] = [];
    const order: number[] = [];
    for (let end = n, size = 1; end > 0; size = (size * 7 + 3) % 300 + 1) {
      const start = Math.max(0, end - size);
      run.push(order.length, start);
      for (let s = start; s < end; s++) order.push(s);
      end = start;
    }
    run.push(n);
    const source = { at, run: Uint32Array.from(run), count: (run.length - 1) / 2 };
    const sortedLengths = Uint32Array.from(order, (s) => lengths[s]!);
    const { zstdCodec, zstdEngines } = await import('./segmentCodec.js');
    const codecs = await Promise.all(zstdEngines().map((e) => zstdCodec(e)));
    for (const [codec, optional] of [[undefined, false], [undefined, true], ...codecs.flatMap((c) => [[c, true], [c, false]] as const)] as const) {
      const path = join(dir, `x${codec ? `z-${codec.engine}` : ''}${optional ? 'o' : ''}.parquet`);
      await writeParquet(path, [
        { name: 'i', type: PHYSICAL.INT32, data: new Uint8Array(Int32Array.from({ length: n }, (_, i) => i).buffer) },
        { name: 'v', type: PHYSICAL.BYTE_ARRAY, utf8: true, data: data.bytes(), lengths: sortedLengths, source, optional },
      ], n, { rowGroupRows: 1024, pageRows: 256, codec });
      const con = await (await DuckDBInstance.create()).connect();
      const rows = (await con.runAndReadAll(`SELECT v FROM read_parquet('${path}') ORDER BY i`)).getRows();
      assert.deepEqual(rows.map((r) => r[0]), order.map(text), `codec ${codec ? `zstd ${codec.engine}` : 'none'}, optional ${optional}`);
      con.closeSync();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
