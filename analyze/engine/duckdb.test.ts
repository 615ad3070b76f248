import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
