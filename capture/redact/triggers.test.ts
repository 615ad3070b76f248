import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { packageRoot } from '../../core/version.js';
import { findTriggers, findTriggersBytewise, findTriggersSimd, hasSimd, TRIGGERS } from './triggers.js';

/** The scans over `b[from, end)` (firstEnd `fe`), the SIMD one whatever the length: the same words, in the same order. */
function same(b: Uint8Array, from: number, end: number, fe: number, out = new Int32Array(2048)): number {
  const ref = new Int32Array(out.length);
  const n = findTriggers(b, from, end, fe, out);
  const m = findTriggersBytewise(b, from, end, fe, ref);
  assert.equal(n, m, `count at [${from}, ${end}) firstEnd ${fe}`);
  assert.deepEqual([...out.subarray(0, 2 * n)], [...ref.subarray(0, 2 * m)], `words at [${from}, ${end}) firstEnd ${fe}`);
  if (hasSimd) {
    const s = findTriggersSimd(b, from, end, fe, out);
    assert.equal(s, m, `SIMD count at [${from}, ${end}) firstEnd ${fe}`);
    assert.deepEqual([...out.subarray(0, 2 * s)], [...ref.subarray(0, 2 * m)], `SIMD words at [${from}, ${end}) firstEnd ${fe}`);
  }
  return n;
}

/** A buffer whose byte `pad` of its memory starts the payload: every alignment of the words. */
function at(pad: number, bytes: Uint8Array): Uint8Array {
  const mem = new Uint8Array(new ArrayBuffer(bytes.length + pad + 8));
  mem.set(bytes, pad);
  return mem.subarray(pad, pad + bytes.length);
}

test('aligned scan: every word in every case, at every alignment and range edge, as the byte-wise scan', () => {
  let found = 0;
  for (const t of TRIGGERS) {
    const w = String.fromCharCode(...t.word);
    const variants = t.exact ? [w] : [w, w.toUpperCase(), w[0]!.toUpperCase() + w.slice(1)];
    for (const v of variants) {
      for (let before = 0; before < 20; before++) {
        const text = 'x'.repeat(before) + v + '"y": 1, ' + v + 'z'.repeat(21 - before);
        const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
        for (let pad = 0; pad < 4; pad++) {
          const b = at(pad, bytes);
          found += same(b, 0, b.length, 0);
          same(b, before + 1, b.length, before + 3); // first word cut: not found by either
          same(b, 0, before + v.length, before + v.length - 1); // ends at the range's end
        }
      }
    }
  }
  assert.ok(found > TRIGGERS.length * 4 * 20 * 2, `each word found twice per text (${found})`);
});

test('aligned scan: two words close together are reported in anchor order, as the byte-wise scan', () => {
  // a word is found at one of its block pairs, up to 7 bytes from its anchor: a neighbour can be found first
  let found = 0;
  for (const a of TRIGGERS) {
    for (const b of TRIGGERS) {
      for (const sep of ['', '=', '":']) {
        const bytes = Uint8Array.from(String.fromCharCode(...a.word) + sep + String.fromCharCode(...b.word) + '........', (c) => c.charCodeAt(0));
        for (let pad = 0; pad < 2; pad++) found += same(at(pad, bytes), 0, bytes.length, 0);
      }
    }
  }
  assert.ok(found >= TRIGGERS.length * TRIGGERS.length * 3 * 2, `both words found (${found})`);
});

test('aligned scan: random text dense in anchor bytes, and a list that fills up, as the byte-wise scan', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  const alphabet = 'pPaAsSwWoOrRdDtTkKeEnNcCiIhHmMyYjJgG_-:/$256\r\n "{}';
  for (let round = 0; round < 300; round++) {
    const len = 16 + Math.floor(rnd() * 400);
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i++) bytes[i] = alphabet.charCodeAt(Math.floor(rnd() * alphabet.length));
    for (const t of TRIGGERS) if (rnd() < 0.3) bytes.set(t.word.subarray(0, Math.min(t.word.length, len - 1)), Math.floor(rnd() * (len - t.word.length)));
    const b = at(round % 4, bytes);
    same(b, 0, len, 0);
    same(b, 3, len - 1, 9);
  }
  // more words than the list holds: the same first ones
  const many = Uint8Array.from('token,'.repeat(300), (c) => c.charCodeAt(0));
  for (let pad = 0; pad < 2; pad++) assert.equal(same(at(pad, many), 0, many.length, 0, new Int32Array(2 * 100)), 100);
});

test('aligned scan: every payload of the shipped identity+image sample, as the byte-wise scan', async () => {
  const dir = join(packageRoot, 'datasets', 'samples', 'tempest-identity-image', 'capture', 'events');
  const files = readdirSync(dir).filter((f) => f.endsWith('.parquet')).map((f) => `'${join(dir, f).replaceAll("'", "''")}'`);
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const reader = await con.runAndReadAll(`SELECT payload FROM read_parquet([${files.join(', ')}]) WHERE payload IS NOT NULL AND octet_length(payload) > 0 LIMIT 20000`);
  let words = 0;
  for (const [p] of reader.getRows()) {
    const bytes = (p as { bytes: Uint8Array }).bytes;
    for (let pad = 0; pad < 2; pad++) words += same(at(pad, bytes), 0, bytes.length, 0);
  }
  assert.ok(words > 1000, `the sample holds trigger words (${words})`);
});
