import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HyperLogLog } from './hyperloglog.js';
import { SketchError } from './sketchError.js';
import { wrapPayload } from './envelope.js';

test('relative error within 3 standard errors (1.04/sqrt(m)) in >= 99 % of runs, no bias, across the range', () => {
  let runs = 0;
  let within = 0;
  for (const p of [6, 10, 14]) {
    const se = HyperLogLog.standardError(p);
    const errors: number[] = [];
    for (let seed = 0; seed < 12; seed++) {
      // Cardinalities from far below m (where raw HLL is biased) to far above it.
      for (const n of [5, 50, 500, 5000, 50000]) {
        const h = new HyperLogLog({ p });
        for (let i = 0; i < n; i++) h.add(`s${seed}-item-${i}`);
        const err = h.estimate() / n - 1;
        errors.push(err);
        runs++;
        if (Math.abs(err) <= 3 * se) within++;
      }
    }
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    assert.ok(Math.abs(mean) < se, `p=${p}: mean relative error ${mean} vs standard error ${se} (biased)`);
  }
  assert.ok(within / runs >= 0.99, `${within}/${runs} runs within 3 standard errors`);
});

test('adversarial: repeats do not count, and the empty sketch says 0', () => {
  const h = new HyperLogLog({ p: 12 });
  assert.equal(h.estimate(), 0);
  for (let r = 0; r < 50; r++) for (let i = 0; i < 1000; i++) h.add(`k${i}`);
  assert.ok(Math.abs(h.estimate() / 1000 - 1) <= 3 * HyperLogLog.standardError(12), `estimate ${h.estimate()}`);
  const one = new HyperLogLog({ p: 4 });
  for (let r = 0; r < 100; r++) one.add('same');
  assert.ok(Math.abs(one.estimate() - 1) < 0.1, `one distinct: ${one.estimate()}`);
});

test('merge is the union exactly; round trip keeps the registers', () => {
  const whole = new HyperLogLog({ p: 11 });
  const parts = Array.from({ length: 8 }, () => new HyperLogLog({ p: 11 }));
  for (let i = 0; i < 30000; i++) {
    const key = `trace-${i % 20000}`; // overlapping parts: the same key in several of them
    whole.add(key);
    parts[i % 8]!.add(key);
  }
  const merged = new HyperLogLog({ p: 11 });
  for (const p of parts) merged.merge(HyperLogLog.decode(p.encode()));
  assert.deepEqual(merged.registers, whole.registers);
  assert.equal(merged.estimate(), whole.estimate());
  assert.equal(HyperLogLog.decode(whole.encode()).estimate(), whole.estimate());
  assert.equal(whole.encode().length, 2048 + 2 + 14, 'dense: one byte per register');
  const few = new HyperLogLog({ p: 14 });
  for (let i = 0; i < 100; i++) few.add(`k${i}`);
  assert.ok(few.encode().length < 400, `sparse: ${few.encode().length} bytes for 100 values at p=14`);
  assert.deepEqual(HyperLogLog.decode(few.encode()).registers, few.registers);
});

test('bad input: p out of range, merging different p, corrupt blobs', () => {
  for (const p of [3, 19, 10.5]) assert.throws(() => new HyperLogLog({ p }), SketchError);
  assert.throws(() => new HyperLogLog({ p: 10 }).merge(new HyperLogLog({ p: 11 })), /different p \(10 and 11\)/);
  const h = new HyperLogLog({ p: 4 });
  h.add('x');
  const blob = h.encode();
  assert.throws(() => HyperLogLog.decode(blob.subarray(0, 12)), /corrupt/);
  // p = 4, dense, a register past 64 - p + 1, in a well-formed envelope: only the content check can catch it.
  const dense = new Uint8Array(2 + 16);
  dense.set([4, 0, 200]);
  assert.throws(() => HyperLogLog.decode(wrapPayload('hyperloglog', dense)), /register 0 = 200 exceeds 61/);
  assert.throws(() => HyperLogLog.decode(wrapPayload('hyperloglog', Uint8Array.of(4, 1, 1, 20, 3))), /sparse register index 20 >= 16/);
  assert.throws(() => HyperLogLog.decode(wrapPayload('hyperloglog', Uint8Array.of(4, 7))), /unknown register format 7/);
  assert.throws(() => HyperLogLog.decode(new Uint8Array(3)), /no 'NTSK' header/);
});
