import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ColumnBatch } from './columns.js';
import { DuckDbEngine } from './duckdb.js';

test('duckdb engine: insert, query, parquet round trip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-engine-'));
  const e = await DuckDbEngine.open();
  try {
    await e.exec('CREATE TABLE t (a INTEGER, b BIGINT, c UBIGINT, d VARCHAR, f DOUBLE, g BLOB)');
    await e.insertRows('t', [
      [1, 2n, 18446744073709551615n, 'x', 0.5, new Uint8Array([1, 2])],
      [null, null, null, null, null, null],
    ]);
    const file = join(dir, 't.parquet');
    await e.writeParquet('t', file);
    assert.equal(await e.loadParquet('u', [file]), 2);
    const rows = await e.query('SELECT * FROM u ORDER BY a NULLS LAST');
    assert.equal(rows[0]!.c, 18446744073709551615n);
    assert.equal(rows[0]!.f, 0.5);
    assert.deepEqual([...(rows[0]!.g as Uint8Array)], [1, 2]);
    assert.equal(rows[1]!.a, null);
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('duckdb engine: a sorted scratch table is read in its order by streams and Parquet writes, filtered or not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-engine-'));
  // Two threads and more rows than a row group (122 880): the scans run in parallel over several row groups.
  const e = await DuckDbEngine.open(':memory:', { threads: 2 });
  try {
    const table = await e.createSortedScratchTable('sorted', 'SELECT hash(i) AS k, i % 7 AS g, repeat(chr(97 + (i % 26)::INTEGER), i % 40) AS s FROM range(400000) t(i)', 'k');
    const inOrder = async (where: string): Promise<number> => {
      let last = -1n;
      let n = 0;
      await e.stream(
        `SELECT k, s FROM ${table}${where}`,
        (c) => {
          for (let i = 0; i < c.rowCount; i++, n++) {
            const k = c.bigint(0, i)!;
            assert.ok(k > last, `row ${n}: ${k} after ${last}`);
            last = k;
          }
        },
        { scanOrder: true },
      );
      return n;
    };
    assert.equal(await inOrder(''), 400000);
    assert.equal(await inOrder(' WHERE g = 3'), 57143);
    const file = join(dir, 'sorted.parquet');
    await e.writeParquet(`SELECT k FROM ${table}`, file, { scanOrder: true });
    const [r] = await e.query<{ bad: bigint }>(
      `SELECT count(*) FILTER (WHERE k <= prev) AS bad FROM (SELECT k, lag(k) OVER (ORDER BY file_row_number) AS prev FROM read_parquet('${file}', file_row_number = true))`,
    );
    assert.equal(r!.bad, 0n);
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('duckdb engine: appended numbers and booleans read back as they were, NULLs included, over several blocks', async () => {
  const e = await DuckDbEngine.open();
  try {
    // `k` numbers the rows: an append keeps every row and value, not their order (with insertion order off, as
    // open() sets it, DuckDB's appender flushes in parallel and rowid need not follow the append).
    const schema = [['k', 'INTEGER'], ['i', 'INTEGER'], ['b', 'BIGINT'], ['ok', 'BOOLEAN']] as const;
    const batch = new ColumnBatch(schema);
    const n = 4500;
    const ok = (i: number): boolean | null => (i % 7 === 0 ? null : i % 3 === 0);
    for (let i = 0; i < n; i++) {
      batch.column('k').push(i);
      batch.column('i').push(i % 11 === 0 ? null : i);
      batch.column('b').push(i % 13 === 0 ? null : BigInt(i) * 1_000_000_007n);
      batch.column('ok').push(ok(i));
    }
    await e.exec('CREATE TABLE t (k INTEGER, i INTEGER, b BIGINT, ok BOOLEAN)');
    await e.append('t', batch);
    const rows = await e.query<{ i: number | null; b: bigint | null; ok: boolean | null }>('SELECT i, b, ok FROM t ORDER BY k');
    assert.equal(rows.length, n);
    rows.forEach((r, i) => {
      assert.equal(r.i, i % 11 === 0 ? null : i, `row ${i}`);
      assert.equal(r.b, i % 13 === 0 ? null : BigInt(i) * 1_000_000_007n, `row ${i}`);
      assert.equal(r.ok, ok(i), `row ${i}`);
    });
  } finally {
    e.close();
  }
});
