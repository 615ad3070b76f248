import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameQueue } from './frameQueue.js';

/** Takes everything a queue holds, oldest first. */
function drain(q: FrameQueue<number>): number[] {
  const out: number[] = [];
  for (let f = q.peek(); f !== undefined; f = q.peek()) {
    out.push(f);
    q.shift();
  }
  return out;
}

test('frameQueue: frames come out oldest first, after emptying and refilling and while it never empties', () => {
  const q = new FrameQueue<number>();
  assert.equal(q.peek(), undefined);
  for (let i = 0; i < 5; i++) q.push(i);
  q.shift();
  q.shift();
  q.push(5);
  assert.deepEqual(drain(q), [2, 3, 4, 5]);
  q.push(6); // slots used again once empty
  assert.deepEqual(drain(q), [6]);
  // Always one or two frames held back over 10 000 frames: compaction keeps the order.
  const seen: number[] = [];
  q.push(0);
  for (let i = 1; i < 10_000; i++) {
    q.push(i);
    seen.push(q.peek()!);
    q.shift();
  }
  seen.push(...drain(q));
  assert.deepEqual(seen, Array.from({ length: 10_000 }, (_, i) => i));
});
