/** naturalMerge: runs of 64-bit keys merged into the order a full sort gives (no root). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countRuns, mergeRuns } from './naturalMerge.js';

/** n keys as ascending runs of `runLength` whose values interleave, some equal to a neighbour's, some above 2^32. */
function runsOf(n: number, runLength: number): BigUint64Array {
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    const run = Math.floor(i / runLength);
    keys[i] = BigInt((i % runLength) * 7 + (run % 5)) * (run % 2 === 0 ? 1n : 2n ** 31n) + BigInt(i % 3 === 0 ? 0 : run);
  }
  return keys;
}

test('naturalMerge: runs of keys come out as a full sort puts them, for any number of runs', () => {
  for (const [n, runLength] of [[0, 1], [1, 1], [2, 1], [10, 10], [1000, 100], [1000, 333], [999, 7], [4096, 1], [5000, 2500]] as const) {
    const keys = runsOf(n, runLength);
    const k32 = new Uint32Array(keys.buffer);
    const expected = BigUint64Array.from(keys).sort();
    assert.equal(countRuns(k32, n) >= 1 || n === 0, true);
    const out = mergeRuns(Uint32Array.from(k32), n, new Uint32Array(2 * n));
    assert.deepEqual(new BigUint64Array(out.buffer, out.byteOffset, n), expected, `${n} keys in runs of ${runLength}`);
  }
});

test('naturalMerge: countRuns counts ascending runs (equal keys continue a run)', () => {
  const k = (...v: bigint[]) => new Uint32Array(BigUint64Array.from(v).buffer);
  assert.equal(countRuns(k(), 0), 0);
  assert.equal(countRuns(k(5n), 1), 1);
  assert.equal(countRuns(k(1n, 2n, 2n, 3n), 4), 1);
  assert.equal(countRuns(k(1n, 2n, 1n, 2n, 2n ** 40n, 3n), 6), 3);
});
