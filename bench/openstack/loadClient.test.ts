import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLoad, type LoadSpec } from './loadClient.js';

/** A server that answers every request after `delayMs` (in parallel, like a server with spare workers). */
async function slowServer(delayMs: number): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => setTimeout(() => res.end('ok'), delayMs));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

const spec = (url: string, extra: Partial<LoadSpec>): LoadSpec => ({ url, method: 'GET', headers: {}, ok: [200], mode: 'rate', warmupSeconds: 0.2, seconds: 1, timeoutMs: 5000, ...extra });

test('rate mode is open loop: requests go out on schedule whatever the latency, and latency includes the wait', async () => {
  const { server, url } = await slowServer(150);
  try {
    const r = await runLoad(spec(url, { mode: 'rate', rate: 40 }));
    // 40/s over 1.2 s = 48 due; a closed loop of one would have sent ~8 in that time
    assert.ok(r.sent >= 46 && r.sent <= 49, `sent ${r.sent}`);
    assert.ok(r.latencies_ms.length >= 35, `latencies ${r.latencies_ms.length}`);
    assert.ok(Math.min(...r.latencies_ms) >= 149, `every latency includes the server's 150 ms (min ${Math.min(...r.latencies_ms)})`);
    assert.deepEqual(r.errors, {});
  } finally {
    server.close();
  }
});

test('closed mode keeps `concurrency` requests in flight: throughput is bounded by latency', async () => {
  const { server, url } = await slowServer(100);
  try {
    const r = await runLoad(spec(url, { mode: 'closed', concurrency: 2 }));
    assert.ok(r.throughput <= 20.5, `2 loops x 100 ms cannot exceed 20 req/s, got ${r.throughput}`);
    assert.ok(r.throughput >= 10, `got ${r.throughput}`);
  } finally {
    server.close();
  }
});

test('errors are counted by status, not taken as latencies', async () => {
  const server = createServer((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await runLoad(spec(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { mode: 'rate', rate: 20 }));
    assert.equal(r.latencies_ms.length, 0);
    assert.ok((r.errors['503'] ?? 0) >= 15, JSON.stringify(r.errors));
  } finally {
    server.close();
  }
});
