import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyntheticCapture } from '../../testing/syntheticCapture.js';
import { loadedEngine } from '../../testing/loadedEngine.js';

test('a connection already open at capture start, with no recognisable head, is recognised by its server port', async () => {
  const cap = new SyntheticCapture();
  const k = cap.connect({ node: 'a', pid: 1, comm: 'app', addr: '127.0.0.1', port: 40000 }, { node: 'a', pid: 2, comm: 'redis-server', addr: '127.0.0.1', port: 6379 });
  // Only the binary middle of a large value was captured: no protocol recognises these bytes.
  cap.message(k, false, new Uint8Array([0, 7, 1, 2, 3, 250, 251]), 0n, 1000n, 2, 1);
  cap.message(k, false, new Uint8Array([9, 9, 9]), 2000n, 3000n, 2, 1);
  const { engine, diag, cleanup } = await loadedEngine(cap, ['a']);
  try {
    assert.equal(diag.counts.redis_connections_recognised_by_port, 2); // both ends of the connection
    assert.equal(diag.counts.connections_unrecognised, undefined);
    // Nothing to frame in those bytes: skipped and counted, no span invented.
    assert.ok(diag.warnings.some((w) => w.code === 'redis-invalid'));
  } finally {
    cleanup();
  }
});
