import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashBytes, StatementCache } from './statementCache.js';

const utf8 = new TextEncoder();

/** `bytes` copied into a buffer at byte offset `at`, with `after` more bytes behind it, as a view. */
function placed(bytes: Uint8Array, at: number, after: number): Uint8Array {
  const buf = new Uint8Array(at + bytes.length + after).fill(0x5a);
  buf.set(bytes, at);
  return buf.subarray(at, at + bytes.length);
}

test('statementCache: a statement hashes the same at every offset in its buffer, whatever follows it', () => {
  for (const len of [0, 1, 3, 4, 35, 36, 37, 38, 39, 100, 1023]) {
    const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + 11) & 0xff);
    const ref = hashBytes(bytes);
    for (let at = 0; at < 8; at++) for (let after = 0; after < 4; after++) assert.equal(hashBytes(placed(bytes, at, after)), ref, `length ${len} at ${at}`);
  }
});

test('statementCache: statements that differ in one literal get their own values; equal bytes anywhere hit', () => {
  const cache = new StatementCache<string>(4);
  let computed = 0;
  const decode = (b: Uint8Array): string => {
    computed++;
    return new TextDecoder().decode(b);
  };
  const sql = (id: number): Uint8Array => utf8.encode(`SELECT instances.id FROM instances WHERE instances.id = ${id} AND instances.deleted = 0`);
  for (let id = 0; id < 3; id++) assert.equal(cache.get(placed(sql(id), id, 1), decode), new TextDecoder().decode(sql(id)));
  assert.equal(computed, 3);
  // Again, at other offsets: all hits; the remembered bytes are a copy (the buffers were views of their own).
  for (let id = 0; id < 3; id++) assert.equal(cache.get(placed(sql(id), 5 + id, 0), decode), new TextDecoder().decode(sql(id)));
  assert.equal(computed, 3);
  // Past a generation (4) the first ones come from the previous one; past two they are computed again.
  for (let id = 3; id < 6; id++) cache.get(sql(id), decode);
  assert.equal(computed, 6);
  cache.get(sql(0), decode);
  assert.equal(computed, 6);
  for (let id = 6; id < 20; id++) cache.get(sql(id), decode);
  cache.get(sql(1), decode);
  assert.equal(computed, 21);
});
