import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tInterval, bootstrap, pairedRatio, pairedDifference, quantile, geomean, mean } from './stats.js';

test('tInterval: mean +- t(0.975, n-1) * s / sqrt(n)', () => {
  // 1..5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776
  const i = tInterval([1, 2, 3, 4, 5]);
  const half = 2.776 * Math.sqrt(2.5) / Math.sqrt(5);
  assert.equal(i.value, 3);
  assert.ok(Math.abs(i.ci_low - (3 - half)) < 1e-9 && Math.abs(i.ci_high - (3 + half)) < 1e-9);
  assert.ok(Number.isNaN(tInterval([7]).ci_low), 'one pair gives no interval, not a fake one');
});

test('bootstrap: deterministic, brackets the estimate, collapses for identical units', () => {
  const xs = [0.97, 1.02, 0.99, 1.05, 0.96, 1.01];
  const a = bootstrap(xs, mean, 'mean');
  assert.deepEqual(a, bootstrap(xs, mean, 'mean'), 'same seed, same interval');
  assert.ok(a.ci_low < a.value && a.value < a.ci_high);
  const c = bootstrap([2, 2, 2], mean, 'mean');
  assert.equal(c.ci_low, 2);
  assert.equal(c.ci_high, 2);
});

test('pairedRatio is the geometric mean of per-pair ratios; pairedDifference the mean difference', () => {
  const pairs = [{ off: 100, on: 110 }, { off: 200, on: 180 }, { off: 50, on: 55 }];
  assert.ok(Math.abs(pairedRatio(pairs).value - geomean([1.1, 0.9, 1.1])) < 1e-12);
  assert.ok(Math.abs(pairedDifference(pairs).value - mean([10, -20, 5])) < 1e-12);
});

test('quantile interpolates linearly (type 7)', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.99), 4.96);
});
