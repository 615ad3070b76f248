import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyntheticCapture, type Endpoint } from '../../testing/syntheticCapture.js';
import { candidateLines, loadedEngine } from '../../testing/loadedEngine.js';
import { correlateThread } from './thread.js';

const ms = 1_000_000n;
const ep = (port: number, pid = 10): Endpoint => ({ node: 'a', pid, comm: 'svc', addr: '127.0.0.1', port });

test('thread: each inbound request owns the calls its thread makes before answering (thread pool, keep-alive)', async () => {
  const cap = new SyntheticCapture();
  const inA = cap.connect(ep(6000, 1), ep(80));
  const inB = cap.connect(ep(6001, 1), ep(80));
  const out = cap.connect(ep(7000), ep(90, 20)); // one pooled connection used by both handler threads
  cap.http(inA, { t: 0n, tResp: 10n * ms, clientTid: 1, serverTid: 11, path: '/a' });
  cap.http(inB, { t: 1n * ms, tResp: 11n * ms, clientTid: 1, serverTid: 12, path: '/b' });
  cap.http(out, { t: 2n * ms, tResp: 3n * ms, clientTid: 11, serverTid: 21, path: '/from-a' });
  cap.http(out, { t: 4n * ms, tResp: 5n * ms, clientTid: 12, serverTid: 21, path: '/from-b' });
  // After /a answered: its thread's next call belongs to nobody (its next request has not come).
  cap.http(out, { t: 20n * ms, tResp: 21n * ms, clientTid: 11, serverTid: 21, path: '/late' });
  const { engine, cleanup } = await loadedEngine(cap, ['a']);
  try {
    await correlateThread(engine);
    assert.deepEqual(await candidateLines(engine, 'thread'), ['server:/a@11 > client:/from-a@11 thread 0.9', 'server:/b@12 > client:/from-b@12 thread 0.9']);
  } finally {
    cleanup();
  }
});

test('thread: several inbound requests open on one thread (green threads) lower the confidence', async () => {
  const cap = new SyntheticCapture();
  const inA = cap.connect(ep(6000, 1), ep(80));
  const inB = cap.connect(ep(6001, 1), ep(80));
  const out = cap.connect(ep(7000), ep(90, 20));
  cap.http(inA, { t: 0n, tResp: 10n * ms, clientTid: 1, serverTid: 11, path: '/a' });
  cap.http(inB, { t: 1n * ms, tResp: 11n * ms, clientTid: 1, serverTid: 11, path: '/b' });
  cap.http(out, { t: 2n * ms, tResp: 3n * ms, clientTid: 11, serverTid: 21, path: '/x' });
  const { engine, cleanup } = await loadedEngine(cap, ['a']);
  try {
    await correlateThread(engine);
    assert.deepEqual(await candidateLines(engine, 'thread'), ['server:/a@11 > client:/x@11 thread 0.15', 'server:/b@11 > client:/x@11 thread 0.5']);
  } finally {
    cleanup();
  }
});
