import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceShapeSketch } from './traceShapes.js';
import { SketchError } from './sketchError.js';
import { seededRandom, zipfSampler } from '../testing/seededRandom.js';

interface Trace {
  shape: string;
  latency: number;
}

/** A stream of traces: Zipf-popular shapes, each with its own latency scale, plus rare one-off shapes. */
function traces(seed: number, n: number): Trace[] {
  const rand = seededRandom(seed);
  const pick = zipfSampler(rand, 400, 1.2);
  return Array.from({ length: n }, () => {
    const s = pick();
    return { shape: `shape-${s}`, latency: Math.round(1e5 * s * (1 + 10 * rand() ** 3)) };
  });
}

/** Checks counts (SpaceSaving) and the rank-slack + alpha bound of every kept shape's quantiles. */
function check(sketch: TraceShapeSketch, stream: Trace[], what: string): void {
  const byShape = new Map<string, number[]>();
  for (const t of stream) (byShape.get(t.shape) ?? byShape.set(t.shape, []).get(t.shape)!).push(t.latency);
  const n = stream.length;
  const alpha = sketch.params.alpha;
  for (const e of sketch.top()) {
    const values = byShape.get(e.shape)!.sort((a, b) => a - b);
    const f = values.length;
    assert.ok(e.count - e.error <= f && f <= e.count && e.error <= n / sketch.params.capacity, `${what}: counts of ${e.shape}`);
    assert.equal(e.latency.count, e.count - e.error, `${what}: ${e.shape} latencies recorded`);
    for (const q of [0.5, 0.9, 0.99]) {
      const rank = Math.floor(q * (f - 1));
      const lo = values[Math.max(0, Math.floor(q * (f - 1) - e.error))]!;
      const hi = values[Math.min(f - 1, rank + e.error)]!;
      const got = e.latency.quantile(q);
      assert.ok(got >= (1 - alpha) * lo * (1 - 1e-9) && got <= (1 + alpha) * hi * (1 + 1e-9), `${what}: ${e.shape} q=${q} got ${got}, bound [${lo}, ${hi}]`);
    }
  }
}

test('top shapes: counts within N/m, shape-conditional quantiles within the rank-slack + alpha bound', () => {
  const stream = traces(3, 30000);
  for (const capacity of [8, 32, 128]) {
    const s = new TraceShapeSketch({ capacity, alpha: 0.01 });
    for (const t of stream) s.add(t.shape, t.shape, t.latency);
    check(s, stream, `m=${capacity}`);
    assert.equal(s.top(1)[0]!.shape, 'shape-1');
  }
});

test('merged per window through blobs: the same guarantees; round trip', () => {
  const stream = traces(4, 20000);
  const parts = Array.from({ length: 6 }, () => new TraceShapeSketch({ capacity: 32, alpha: 0.02 }));
  stream.forEach((t, i) => parts[Math.floor((i * 6) / stream.length)]!.add(t.shape, `desc ${t.shape}`, t.latency));
  const merged = TraceShapeSketch.decode(parts[0]!.encode());
  for (const p of parts.slice(1)) merged.merge(TraceShapeSketch.decode(p.encode()));
  check(merged, stream, 'merged');
  assert.equal(merged.top(1)[0]!.description, 'desc shape-1');
  const back = TraceShapeSketch.decode(merged.encode());
  assert.deepEqual(back.top().map((e) => [e.shape, e.count, e.error, e.latency.quantile(0.9)]), merged.top().map((e) => [e.shape, e.count, e.error, e.latency.quantile(0.9)]));
});

test('bad input: parameters, incompatible merges, corrupt or mislabelled blobs', () => {
  assert.throws(() => new TraceShapeSketch({ capacity: 0, alpha: 0.01 }), SketchError);
  assert.throws(() => new TraceShapeSketch({ capacity: 10, alpha: 1 }), /alpha/);
  const a = new TraceShapeSketch({ capacity: 10, alpha: 0.01 });
  assert.throws(() => a.merge(new TraceShapeSketch({ capacity: 10, alpha: 0.02 })), /different parameters/);
  a.add('s', 'd', 5);
  assert.throws(() => TraceShapeSketch.decode(new TraceShapeSketch({ capacity: 10, alpha: 0.01 }).counts.encode()), /holds a spacesaving sketch, not a traceshapes sketch/);
  const blob = a.encode();
  assert.throws(() => TraceShapeSketch.decode(blob.subarray(0, blob.length - 5)), /corrupt/);
});
