import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencySketch } from './ddsketch.js';
import { SketchError } from './sketchError.js';
import { seededRandom } from '../testing/seededRandom.js';

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

/** The element DDSketch's guarantee is about: rank floor(q (n-1)) of the sorted input. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function checkWithinAlpha(values: number[], alpha: number, sketch: LatencySketch, what: string): void {
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of QS) {
    const x = exact(sorted, q);
    const got = sketch.quantile(q);
    assert.ok(Math.abs(got - x) <= alpha * x * (1 + 1e-9), `${what}: q=${q} exact ${x} got ${got} (alpha ${alpha})`);
  }
}

const rand = seededRandom(11);
const lognormal = (mu: number, sigma: number) => Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));

const datasets: Record<string, number[]> = {
  'lognormal latencies (ns)': Array.from({ length: 20000 }, () => Math.round(lognormal(13, 1.5))),
  'bimodal: cache hits and misses': Array.from({ length: 20000 }, (_, i) => (i % 10 === 0 ? 5e7 + rand() * 1e7 : 2e4 + rand() * 1e3)),
  'adversarial: 12 decades (1 ns .. 1000 s)': Array.from({ length: 5000 }, () => Math.round(10 ** (rand() * 12))),
  'adversarial: all equal': Array.from({ length: 1000 }, () => 123456),
  'adversarial: zeros and one outlier': [...Array.from({ length: 999 }, () => 0), 1e12],
  'adversarial: sorted ascending then descending': [...Array.from({ length: 3000 }, (_, i) => i + 1), ...Array.from({ length: 3000 }, (_, i) => 3000 - i)],
};

test('every quantile within alpha of the exact one, seeded random and adversarial inputs', () => {
  for (const alpha of [0.05, 0.01, 0.001]) {
    for (const [name, values] of Object.entries(datasets)) {
      const s = new LatencySketch({ alpha });
      for (const v of values) s.add(v);
      assert.equal(s.count, values.length);
      checkWithinAlpha(values, alpha, s, `${name}, alpha ${alpha}`);
    }
  }
});

test('sketches merged over 16 parts (through their blobs) answer exactly as one sketch of everything', () => {
  const values = datasets['lognormal latencies (ns)']!;
  const whole = new LatencySketch({ alpha: 0.01 });
  const parts = Array.from({ length: 16 }, () => new LatencySketch({ alpha: 0.01 }));
  values.forEach((v, i) => {
    whole.add(v);
    parts[(i * 7919) % 16]!.add(v);
  });
  const merged = new LatencySketch({ alpha: 0.01 });
  for (const p of parts) merged.merge(LatencySketch.decode(p.encode()));
  for (const q of QS) assert.equal(merged.quantile(q), whole.quantile(q), `q=${q}`);
  checkWithinAlpha(values, 0.01, merged, 'merged');
  // Adding after a decode keeps the same bins (the gamma read back is the one written).
  const again = LatencySketch.decode(whole.encode());
  again.add(values[0]!);
  whole.add(values[0]!);
  for (const q of QS) assert.equal(again.quantile(q), whole.quantile(q));
});

test('round trip keeps every answer; the blob is small', () => {
  const s = new LatencySketch({ alpha: 0.01 });
  for (const v of datasets['lognormal latencies (ns)']!) s.add(v);
  const blob = s.encode();
  const back = LatencySketch.decode(blob);
  assert.equal(back.count, s.count);
  for (const q of QS) assert.equal(back.quantile(q), s.quantile(q));
  assert.ok(blob.length < 8000, `blob ${blob.length} bytes`);
  assert.ok(Number.isNaN(new LatencySketch({ alpha: 0.01 }).quantile(0.5)), 'empty sketch answers NaN');
});

test('bad input: alpha out of range, negative values, merging different alpha, corrupt blobs', () => {
  for (const alpha of [0, -0.1, 0.9, NaN]) assert.throws(() => new LatencySketch({ alpha }), SketchError);
  const s = new LatencySketch({ alpha: 0.01 });
  assert.throws(() => s.add(-1), /finite values >= 0/);
  assert.throws(() => s.add(Infinity), /finite values >= 0/);
  assert.throws(() => s.quantile(1.5), /quantile must be/);
  assert.throws(() => s.merge(new LatencySketch({ alpha: 0.02 })), /different alpha/);
  s.add(1000);
  const blob = s.encode();
  const flipped = blob.slice();
  flipped[14]! ^= 0xff;
  assert.throws(() => LatencySketch.decode(flipped), /CRC-32 mismatch/);
  assert.throws(() => LatencySketch.decode(blob.subarray(0, blob.length - 3)), /corrupt ddsketch blob/);
  assert.throws(() => LatencySketch.decode(new TextEncoder().encode('not a sketch at all')), /no 'NTSK' header/);
});
