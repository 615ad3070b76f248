/** The capture yielding the CPU (capture/yieldingPriority.ts), on this test's own process: real nice values from /proc. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { YieldingPriority } from './yieldingPriority.js';

/** Nice value of every thread of this process (field 19 of /proc/self/task/TID/stat). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

const isRoot = process.getuid?.() === 0;

test('YieldingPriority: every thread yields; a queue over the high mark, or over the low mark for too long, takes the normal priority back (root); under the low mark it yields again', async () => {
  // A second thread that exists before start(): it must yield too, not only the thread that calls start().
  const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await new Promise((r) => worker.once('online', r));
  try {
    const p = new YieldingPriority(7, 100, 1000, 1000);
    p.start();
    assert.ok(threadNices().length >= 2);
    assert.deepEqual([...new Set(threadNices())], [7]);
    p.observe(500, 0); // behind, not for long yet: no change
    p.observe(500, 999);
    assert.deepEqual([...new Set(threadNices())], [7]);
    p.observe(5000, 1000);
    if (isRoot) {
      assert.deepEqual([...new Set(threadNices())], [0], 'over the high mark: normal priority again');
      assert.equal(p.catchUps, 1);
      p.observe(500, 1100); // over the low mark: stays at the normal priority
      assert.deepEqual([...new Set(threadNices())], [0]);
      p.observe(50, 1200);
      assert.deepEqual([...new Set(threadNices())], [7], 'under the low mark: yields again');
      p.observe(500, 1300);
      p.observe(500, 2299);
      assert.deepEqual([...new Set(threadNices())], [7]);
      p.observe(500, 2300);
      assert.deepEqual([...new Set(threadNices())], [0], 'behind for maxLagMs: normal priority again');
      assert.equal(p.catchUps, 2);
      p.stop();
      assert.deepEqual([...new Set(threadNices())], [0], 'draining at the end does not wait behind the services');
    } else {
      assert.deepEqual([...new Set(threadNices())], [7], 'without root the value cannot be lowered again');
    }
  } finally {
    await worker.terminate();
  }
});

test('YieldingPriority: nice 0 changes nothing', () => {
  const before = threadNices();
  const p = new YieldingPriority(0);
  p.start();
  p.observe(1e12, 1e9);
  p.stop();
  assert.deepEqual(threadNices(), before);
});
