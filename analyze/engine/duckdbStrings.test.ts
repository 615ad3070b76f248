import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ColumnBatch, ValueColumn, type TableSchema } from './columns.js';
import { viaMessagePort } from '../../testing/columnTransfer.js';
import { DuckDbEngine } from './duckdb.js';

const SCHEMA = [
  ['n', 'INTEGER'],
  ['s', 'VARCHAR'],
] as const satisfies TableSchema;

/** Every kind of string the writer tells apart: empty, inline (<= 12 UTF-8 bytes), exactly 12, 13, multi-byte near the limit, long. */
const VALUES = ['', 'ok', 'client', 'twelve bytes', 'thirteen byte', 'ünïcode ✓', 'ééééééé', '✓✓✓✓', 'SELECT ? FROM t WHERE id = ?', 'a'.repeat(5000), '😀x'];

/** Rows of n strings: repeats (within and across 2 048-row blocks), NULLs, distinct long ones. */
function batch(n: number): ColumnBatch<typeof SCHEMA> {
  const b = new ColumnBatch(SCHEMA);
  for (let i = 0; i < n; i++) {
    b.column('n').push(i);
    b.column('s').push(i % 13 === 0 ? null : i % 5 === 0 ? `distinct long value number ${i}` : VALUES[i % VALUES.length]!);
  }
  return b;
}

test('duckdb append: strings written as records read back as they were, from values and from dictionary codes', async () => {
  const e = await DuckDbEngine.open();
  try {
    const n = 5000; // two full blocks and a partial one
    const want = batch(n);
    for (const [table, b] of [['plain', batch(n)], ['coded', viaMessagePort(SCHEMA, batch(n))]] as const) {
      const column = b.column('s') as ValueColumn<string>;
      assert.equal(column.dictionaryCodes() !== null, table === 'coded', `${table}: codes kept until appended`);
      await e.exec(`CREATE TABLE ${table} (n INTEGER, s VARCHAR)`);
      await e.append(table, b);
      await e.append(table, b); // a second append reuses the writer
      const rows = await e.query<{ n: number; s: string | null }>(`SELECT n, s FROM ${table} ORDER BY n, rowid`);
      assert.equal(rows.length, 2 * n);
      for (let i = 0; i < n; i++) {
        assert.equal(rows[2 * i]!.s, want.column('s').get(i), `${table} row ${i}`);
        assert.equal(rows[2 * i + 1]!.s, want.column('s').get(i), `${table} row ${i} (second append)`);
      }
      // Equal strings are equal to the engine (inline records are zero-padded), and lengths are UTF-8 lengths.
      const [g] = await e.query<{ groups: bigint; bytes: bigint }>(
        `SELECT count(DISTINCT s) AS groups, sum(strlen(s)) AS bytes FROM ${table}`,
      );
      const distinct = new Set<string>();
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        const s = want.column('s').get(i);
        if (s === null) continue;
        distinct.add(s);
        bytes += 2 * Buffer.byteLength(s);
      }
      assert.equal(g!.groups, BigInt(distinct.size));
      assert.equal(g!.bytes, BigInt(bytes));
      const [eq] = await e.query<{ c: bigint }>(`SELECT count(*) AS c FROM ${table} WHERE s = 'twelve bytes' OR s = 'ü' || 'nïcode ✓'`);
      assert.equal(eq!.c, BigInt(2 * [...Array(n).keys()].filter((i) => i % 13 !== 0 && i % 5 !== 0 && [3, 5].includes(i % VALUES.length)).length));
    }
  } finally {
    e.close();
  }
});
