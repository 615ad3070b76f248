import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyntheticCapture } from '../testing/syntheticCapture.js';
import { candidateLines, loadedEngine } from '../testing/loadedEngine.js';
import { correlateSpatial } from './spatial.js';

const ms = 1_000_000n;

test('spatial: client and server sides match by tcp_seq and mirrored 4-tuple, per keep-alive call', async () => {
  const cap = new SyntheticCapture();
  const client = { node: 'a', pid: 1, comm: 'c', addr: '10.0.0.1', port: 5000 };
  const client2 = { node: 'a', pid: 1, comm: 'c', addr: '10.0.0.1', port: 5001 };
  const server = { node: 'b', pid: 2, comm: 's', addr: '10.0.0.2', port: 80 };
  const k1 = cap.connect(client, server, 100n);
  const k2 = cap.connect(client2, server, 100n); // same initial seq on another connection: the tuple separates them
  cap.http(k1, { t: 1n * ms, tResp: 2n * ms, clientTid: 1, serverTid: 2, path: '/a' });
  cap.http(k1, { t: 3n * ms, tResp: 4n * ms, clientTid: 1, serverTid: 2, path: '/b' });
  cap.http(k2, { t: 3n * ms, tResp: 4n * ms, clientTid: 3, serverTid: 4, path: '/c' });
  const { engine, diag, cleanup } = await loadedEngine(cap, ['a', 'b']);
  try {
    assert.equal(await correlateSpatial(engine, diag), 3);
    assert.deepEqual(await candidateLines(engine, 'spatial'), [
      'client:/a@1 > server:/a@2 spatial 1.0',
      'client:/b@1 > server:/b@2 spatial 1.0',
      'client:/c@3 > server:/c@4 spatial 1.0',
    ]);
    assert.equal(diag.counts.client_spans_without_server_side, 0);
  } finally {
    cleanup();
  }
});
