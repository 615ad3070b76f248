import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaceSaving } from './spaceSaving.js';
import { SketchError } from './sketchError.js';
import { seededRandom, zipfSampler } from '../testing/seededRandom.js';

/** Checks every SpaceSaving guarantee against the exact counts of the stream it saw. */
function checkGuarantees(s: SpaceSaving<unknown>, exact: Map<string, number>, what: string): void {
  const n = [...exact.values()].reduce((a, b) => a + b, 0);
  const m = s.params.capacity;
  assert.equal(s.total, n, `${what}: total`);
  assert.ok(s.minCount <= n / m + 1e-9, `${what}: min ${s.minCount} > N/m ${n / m}`);
  for (const c of s.top()) {
    const f = exact.get(c.key) ?? 0;
    assert.ok(c.count - c.error <= f && f <= c.count, `${what}: ${c.key} f=${f} count=${c.count} error=${c.error}`);
    assert.ok(c.error <= n / m + 1e-9, `${what}: ${c.key} error ${c.error} > N/m`);
  }
  for (const [k, f] of exact) {
    if (f > n / m) assert.ok(s.get(k), `${what}: ${k} (f=${f} > N/m=${n / m}) missing`);
    if (!s.get(k)) assert.ok(f <= s.minCount, `${what}: absent ${k} f=${f} > min ${s.minCount}`);
  }
}

function exactCounts(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

const zipf = (seed: number, n: number) => {
  const next = zipfSampler(seededRandom(seed), 3000, 1.05);
  return Array.from({ length: n }, () => `GET /v2/servers/${next()}`);
};

const streams: Record<string, string[]> = {
  'zipf 1.05': zipf(5, 40000),
  // Adversarial: many distinct items first (every counter churns), then a heavy item arrives late.
  'late heavy hitter': [...Array.from({ length: 5000 }, (_, i) => `noise-${i}`), ...Array.from({ length: 3000 }, (_, i) => (i % 2 ? 'late' : `noise2-${i}`))],
  // Adversarial: frequencies ascending in arrival order (each new item ends up heavier than all before it).
  'ascending runs': Array.from({ length: 200 }, (_, i) => Array.from({ length: i + 1 }, () => `run-${i}`)).flat(),
};

test('count - error <= f <= count, error <= N/m, every item over N/m reported (random and adversarial)', () => {
  for (const [name, items] of Object.entries(streams)) {
    for (const capacity of [10, 50, 200]) {
      const s = new SpaceSaving({ capacity });
      for (const x of items) s.add(x);
      checkGuarantees(s, exactCounts(items), `${name}, m=${capacity}`);
    }
  }
});

test('guarantees hold after merging per part and in a tree of merges through blobs', () => {
  for (const [name, items] of Object.entries(streams)) {
    const parts = Array.from({ length: 8 }, () => new SpaceSaving({ capacity: 40 }));
    items.forEach((x, i) => parts[Math.floor((i / items.length) * 8)]!.add(x)); // time windows
    const blobs = parts.map((p) => p.encode());
    // ((0+1)+(2+3)) + ((4+5)+(6+7))
    let level = blobs.map((b) => SpaceSaving.decode(b));
    while (level.length > 1) {
      const next: SpaceSaving[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const a = level[i]!;
        a.merge(level[i + 1]!);
        next.push(SpaceSaving.decode(a.encode()));
      }
      level = next;
    }
    checkGuarantees(level[0]!, exactCounts(items), `${name}, merged tree`);
  }
});

test('round trip keeps counts and errors; bad input is refused', () => {
  const s = new SpaceSaving({ capacity: 20 });
  for (const x of streams['zipf 1.05']!) s.add(x);
  const back = SpaceSaving.decode(s.encode());
  assert.deepEqual(back.top().map((c) => [c.key, c.count, c.error]), s.top().map((c) => [c.key, c.count, c.error]));
  assert.equal(back.total, s.total);
  assert.throws(() => new SpaceSaving({ capacity: 0 }), SketchError);
  assert.throws(() => s.merge(new SpaceSaving({ capacity: 21 })), /different capacity \(20 and 21\)/);
  assert.throws(() => s.merge(s), /into itself/);
  const blob = s.encode();
  assert.throws(() => SpaceSaving.decode(blob.subarray(0, 30)), /corrupt/);
});
