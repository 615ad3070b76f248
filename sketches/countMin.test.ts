import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CountMin } from './countMin.js';
import { SketchError } from './sketchError.js';
import { seededRandom, zipfSampler } from '../testing/seededRandom.js';

function stream(seed: number, n: number, distinct: number, s: number): string[] {
  const next = zipfSampler(seededRandom(seed), distinct, s);
  return Array.from({ length: n }, () => `endpoint-${next()}`);
}

function exactCounts(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

test('never under, over by at most eps N in >= 1 - delta of the queries (Zipf and uniform streams)', () => {
  for (const [name, items] of [
    ['zipf 1.1', stream(1, 50000, 5000, 1.1)],
    ['uniform (adversarial for count-min: no heavy items, every cell crowded)', stream(2, 50000, 20000, 0)],
  ] as const) {
    for (const width of [64, 512, 4096]) {
      const cm = new CountMin({ width, depth: 5, seed: 7 });
      for (const x of items) cm.add(x);
      const exact = exactCounts(items);
      let violations = 0;
      for (const [k, f] of exact) {
        const est = cm.estimate(k);
        assert.ok(est >= f, `${name}: ${k} estimated ${est} below its count ${f}`);
        if (est - f > cm.eps * cm.total) violations++;
      }
      assert.ok(violations / exact.size <= cm.delta, `${name} width ${width}: ${violations}/${exact.size} over eps N (delta ${cm.delta})`);
    }
  }
});

test('merge adds tables: equal to the sketch of the whole stream; round trip', () => {
  const items = stream(3, 20000, 2000, 1.2);
  const whole = new CountMin({ width: 300, depth: 4, seed: 1 });
  const parts = Array.from({ length: 5 }, () => new CountMin({ width: 300, depth: 4, seed: 1 }));
  items.forEach((x, i) => {
    whole.add(x);
    parts[i % 5]!.add(x);
  });
  const merged = new CountMin({ width: 300, depth: 4, seed: 1 });
  for (const p of parts) merged.merge(CountMin.decode(p.encode()));
  assert.deepEqual(merged.table, whole.table);
  assert.equal(merged.total, 20000);
  assert.deepEqual(CountMin.paramsFor(0.01, 0.01), { width: 272, depth: 5, seed: 0 });
});

test('bad input: parameters out of range, merging different shapes or seeds, corrupt blobs', () => {
  assert.throws(() => new CountMin({ width: 1, depth: 4, seed: 0 }), SketchError);
  assert.throws(() => new CountMin({ width: 100, depth: 0, seed: 0 }), /depth must be an integer in \[1, 32\]/);
  assert.throws(() => CountMin.paramsFor(0, 0.1), /eps/);
  const a = new CountMin({ width: 100, depth: 4, seed: 0 });
  assert.throws(() => a.merge(new CountMin({ width: 100, depth: 4, seed: 1 })), /different shape.*seed 0\/1/);
  assert.throws(() => a.add('x', 0), /positive integers/);
  a.add('x', 3);
  const blob = a.encode();
  assert.throws(() => CountMin.decode(blob.subarray(0, blob.length - 1)), /corrupt/);
  const bad = blob.slice();
  bad[20]! ^= 1;
  assert.throws(() => CountMin.decode(bad), /CRC-32/);
});
