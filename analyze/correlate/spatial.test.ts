import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyntheticCapture } from '../../testing/syntheticCapture.js';
import { candidateLines, loadedEngine } from '../../testing/loadedEngine.js';
import { correlateSpatial } from './spatial.js';
import { correlateOwnership } from './ownership.js';

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

test('spatial: a server side whose request read was not captured is matched by the response and completed', async () => {
  const cap = new SyntheticCapture();
  const client = { node: 'a', pid: 1, comm: 'c', addr: '10.0.0.1', port: 5000 };
  const server = { node: 'a', pid: 2, comm: 's', addr: '10.0.0.2', port: 80 };
  const out = { node: 'a', pid: 2, comm: 's', addr: '10.0.0.2', port: 6000 };
  const db = { node: 'a', pid: 3, comm: 'db', addr: '10.0.0.3', port: 90 };
  const k = cap.connect(client, server, 100n);
  const k2 = cap.connect(out, db, 100n);
  // Call /first: the server's recv of the request is lost; it calls db on its thread, then answers.
  cap.message(k, true, 'GET /first HTTP/1.1\r\nX-Request-ID: r1\r\n\r\n', 1n * ms, 1n * ms + 1000n, 1, 2, 'recv');
  cap.http(k2, { t: 2n * ms, tResp: 3n * ms, clientTid: 2, serverTid: 3, path: '/q' });
  cap.message(k, false, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 4n * ms, 4n * ms + 1000n, 2, 1);
  cap.http(k, { t: 5n * ms, tResp: 6n * ms, clientTid: 1, serverTid: 2, path: '/second' });
  const { engine, diag, cleanup } = await loadedEngine(cap, ['a']);
  try {
    await correlateSpatial(engine, diag);
    assert.deepEqual(await candidateLines(engine, 'spatial'), [
      'client:/first@1 > server:/first@2 spatial 1.0',
      'client:/q@2 > server:/q@3 spatial 1.0',
      'client:/second@1 > server:/second@2 spatial 1.0',
    ]);
    const [s] = await engine.query<{ req_seen: boolean; raw_start_ns: bigint; call_index: number }>(
      "SELECT req_seen, raw_start_ns, call_index FROM spans_raw WHERE kind = 'server' AND path = '/first'",
    );
    assert.equal(s!.req_seen, false);
    assert.equal(s!.call_index, 0);
    assert.ok(s!.raw_start_ns <= 2n * ms, `estimated arrival ${s!.raw_start_ns} before the db call`);
    await correlateOwnership(engine);
    assert.deepEqual(await candidateLines(engine, 'thread'), ['server:/first@2 > client:/q@2 thread 0.9']);
  } finally {
    cleanup();
  }
});
