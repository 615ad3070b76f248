import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyntheticCapture, type Endpoint } from '../../testing/syntheticCapture.js';
import { candidateLines, loadedEngine } from '../../testing/loadedEngine.js';
import { correlateTiming } from './timing.js';

const ms = 1_000_000n;
const ep = (port: number, pid = 10): Endpoint => ({ node: 'a', pid, comm: 'svc', addr: '127.0.0.1', port });

test('timing: a pool-thread call inside one open request window belongs to it; with several, the tightest fit leads', async () => {
  const cap = new SyntheticCapture();
  const inA = cap.connect(ep(6000, 1), ep(80));
  const inB = cap.connect(ep(6001, 1), ep(80));
  const out = cap.connect(ep(7000), ep(90, 20));
  cap.http(inA, { t: 0n, tResp: 10n * ms, clientTid: 1, serverTid: 11, path: '/a' });
  cap.http(out, { t: 2n * ms, tResp: 3n * ms, clientTid: 31, serverTid: 21, path: '/only-a' }); // only /a open
  cap.http(inB, { t: 4n * ms, tResp: 30n * ms, clientTid: 1, serverTid: 12, path: '/b' });
  cap.http(out, { t: 5n * ms, tResp: 9n * ms, clientTid: 32, serverTid: 21, path: '/both' }); // fits /a by 4+1 ms, /b by 1+21
  cap.http(out, { t: 40n * ms, tResp: 41n * ms, clientTid: 32, serverTid: 21, path: '/none' }); // no request open
  const { engine, cleanup } = await loadedEngine(cap, ['a']);
  try {
    await correlateTiming(engine);
    assert.deepEqual(await candidateLines(engine, 'timing'), [
      'server:/a@11 > client:/both@32 timing 0.3',
      'server:/a@11 > client:/only-a@31 timing 0.6',
      'server:/b@12 > client:/both@32 timing 0.15',
    ]);
  } finally {
    cleanup();
  }
});
