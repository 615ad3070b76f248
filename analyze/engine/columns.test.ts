import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ColumnBatch, type TableSchema } from './columns.js';
import { viaMessagePort } from '../../testing/columnTransfer.js';

const SCHEMA = [
  ['n', 'INTEGER'],
  ['kind', 'VARCHAR'],
  ['id', 'VARCHAR'],
  ['ok', 'BOOLEAN'],
] as const satisfies TableSchema;

function rows(b: ColumnBatch<typeof SCHEMA>): unknown[][] {
  return Array.from({ length: b.rows }, (_, i) => b.columns.map((c) => c.get(i)));
}

test('columns: a batch crosses a MessagePort unchanged; repeated strings travel as a dictionary, distinct ones as they are', () => {
  const b = new ColumnBatch(SCHEMA);
  for (let i = 0; i < 10_000; i++) {
    b.column('n').push(i % 7 === 0 ? null : i);
    b.column('kind').push(i % 5 === 0 ? null : ['client', 'server', 'ünïcode ✓', ''][i % 4]!);
    b.column('id').push(i % 3 === 0 ? null : `id-${i}`);
    b.column('ok').push(i % 2 === 0);
  }
  const t = b.toTransfer();
  assert.deepEqual(t.batch.columns[1]!.dictionary?.slice().sort(), ['', 'client', 'server', 'ünïcode ✓']);
  assert.ok(t.batch.columns[1]!.values instanceof Int32Array);
  assert.equal(t.batch.columns[2]!.dictionary, undefined, 'mostly distinct values are not encoded');
  assert.deepEqual(rows(viaMessagePort(SCHEMA, b)), rows(b));
  // Tiny batches (dictionary limit below one value) and empty ones.
  for (const n of [0, 1, 3]) {
    const small = new ColumnBatch(SCHEMA);
    for (let i = 0; i < n; i++) {
      small.column('n').push(i);
      small.column('kind').push('client');
      small.column('id').push(null);
      small.column('ok').push(null);
    }
    assert.deepEqual(rows(viaMessagePort(SCHEMA, small)), rows(small));
  }
});
