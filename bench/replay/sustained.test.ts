import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sustained } from './sustained.js';

test('sustained: the flush of the last segment after the producer ends is not a backlog', () => {
  // bench/results/capture-2026-11-30T14-21-49.118Z.json, 50 k/s: 0 drops, 300 000 written, on disk 1.55 s after
  // the producer's end (the last segment's conversion); read times as the consumer reports them now
  assert.equal(sustained({ produced: 300000, dropped: 0, seconds: 6.002 }, { events: 300000, read_seconds: 6.05, waiting_at_end: 0 }), true);
  assert.equal(sustained({ produced: 300000, dropped: 0, seconds: 6.002 }, { events: 300000, read_seconds: 6.05, waiting_at_end: 1 }), true);
});

test('sustained: drops, missing events, a late last read or two segments waiting fail', () => {
  const p = { produced: 300000, dropped: 0, seconds: 6 };
  const c = { events: 300000, read_seconds: 6.2, waiting_at_end: 0 };
  assert.equal(sustained({ ...p, dropped: 1 }, c), false);
  assert.equal(sustained(p, { ...c, events: 299999 }), false);
  assert.equal(sustained(p, { ...c, read_seconds: 7.1 }), false, 'a backlog the ring hid');
  assert.equal(sustained(p, { ...c, waiting_at_end: 2 }), false, 'reading was paused');
});
