import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyntheticCapture, type Endpoint } from '../../testing/syntheticCapture.js';
import { candidateLines, loadedEngine } from '../../testing/loadedEngine.js';
import { correlateContent } from './content.js';

const ms = 1_000_000n;
const ep = (port: number, pid = 10): Endpoint => ({ node: 'a', pid, comm: 'svc', addr: '127.0.0.1', port });

test('content: a request id carried in and out links calls made on other threads', async () => {
  const cap = new SyntheticCapture();
  const inA = cap.connect(ep(6000, 1), ep(80));
  const inB = cap.connect(ep(6001, 1), ep(80));
  const out = cap.connect(ep(7000), ep(90, 20));
  cap.http(inA, { t: 0n, tResp: 10n * ms, clientTid: 1, serverTid: 11, path: '/a', headers: { 'X-OpenStack-Request-ID': 'req-aaaa' } });
  // /b's id only appears in its response (a fresh local id), as OpenStack APIs do.
  cap.http(inB, { t: 1n * ms, tResp: 11n * ms, clientTid: 1, serverTid: 12, path: '/b', respHeaders: { 'X-OpenStack-Request-ID': 'req-bbbb' } });
  cap.http(out, { t: 2n * ms, tResp: 3n * ms, clientTid: 31, serverTid: 21, path: '/for-b', headers: { 'X-OpenStack-Request-ID': 'req-bbbb' } });
  cap.http(out, { t: 4n * ms, tResp: 5n * ms, clientTid: 32, serverTid: 21, path: '/for-a', headers: { 'X-Request-ID': 'req-aaaa' } });
  cap.http(out, { t: 6n * ms, tResp: 7n * ms, clientTid: 32, serverTid: 21, path: '/no-id' });
  const { engine, cleanup } = await loadedEngine(cap, ['a']);
  try {
    await correlateContent(engine);
    assert.deepEqual(await candidateLines(engine, 'content'), [
      'server:/a@11 > client:/for-a@32 content:x-request-id 0.95',
      'server:/b@12 > client:/for-b@31 content:x-openstack-request-id 0.95',
    ]);
  } finally {
    cleanup();
  }
});
