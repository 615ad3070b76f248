import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics } from '../diagnostics.js';
import { estimateClocks } from './clockOffset.js';

test('clock offsets: middle of the feasible interval, chained through nodes, both directions intersected', () => {
  const d = new Diagnostics();
  const clocks = estimateClocks(
    ['a', 'b', 'c'],
    'a',
    [
      { clientNode: 'a', serverNode: 'b', lo: 900n, hi: 1100n, pairs: 5 },
      { clientNode: 'b', serverNode: 'a', lo: -1050n, hi: -980n, pairs: 2 }, // says b - a in [980, 1050]
      { clientNode: 'b', serverNode: 'c', lo: -20n, hi: 20n, pairs: 1 },
    ],
    d,
  );
  assert.deepEqual(
    clocks.map((c) => [c.node, c.offsetNs, c.method, c.uncertaintyNs]),
    [
      ['a', 0n, 'reference', null],
      ['b', 1015n, 'estimated', 70n],
      ['c', 1015n, 'estimated', 40n],
    ],
  );
  assert.equal(d.warnings.length, 0);
});

test('clock offsets: contradictory bounds and unreachable nodes are warnings, not crashes', () => {
  const d = new Diagnostics();
  const clocks = estimateClocks(['a', 'b', 'z'], 'a', [{ clientNode: 'a', serverNode: 'b', lo: 10_000_000n, hi: 0n, pairs: 3 }], d);
  assert.equal(clocks[1]!.offsetNs, 5_000_000n);
  assert.deepEqual(clocks[2], { node: 'z', offsetNs: 0n, method: 'unaligned', uncertaintyNs: null, pairs: 0 });
  assert.deepEqual(d.warnings.map((w) => w.code).sort(), ['clock-inconsistent', 'clock-unaligned']);
});
