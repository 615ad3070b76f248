import { test } from 'node:test';
import assert from 'node:assert/strict';
import { steadyWindow } from './steadyState.js';

test('steadyWindow: CPU between the warm-up segment and the last one written while reading, over the rows in between', () => {
  const marks = [
    { rows: 190_000, cpu_ns: 3.0e9, seconds: 4.2 }, // first segment: fresh memory, module JIT
    { rows: 190_000, cpu_ns: 5.2e9, seconds: 8.0 }, // second: a fresh builder still
    { rows: 190_000, cpu_ns: 6.4e9, seconds: 11.8 },
    { rows: 190_000, cpu_ns: 7.6e9, seconds: 15.6 },
    { rows: 150_000, cpu_ns: 9.0e9, seconds: 20.5 }, // the final flush, after the last byte: not in the window
  ];
  const w = steadyWindow(marks, 18, 2)!;
  assert.equal(w.measured_segments, 2);
  assert.equal(w.measured_events, 380_000);
  assert.ok(Math.abs(w.cpu_ns_per_event - 2.4e9 / 380_000) < 1e-6);
  assert.ok(Math.abs(w.events_per_second_one_core_from_cpu - 380_000 / 2.4) < 1e-3);
  assert.ok(Math.abs(w.seconds - 7.6) < 1e-9);
});

test('steadyWindow: a run too short for a steady state says so (null)', () => {
  const marks = [{ rows: 1, cpu_ns: 1, seconds: 1 }, { rows: 1, cpu_ns: 2, seconds: 2 }, { rows: 1, cpu_ns: 3, seconds: 3 }];
  assert.equal(steadyWindow(marks, 2.5, 1), null, 'two segments while reading, one of them warm-up: no window of two marks');
  assert.equal(steadyWindow(marks, 3, 2), null);
  assert.notEqual(steadyWindow(marks, 3, 1), null);
});
