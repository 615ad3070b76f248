/**
 * Live captures of real processes on the real kernel (root). Each test loads nitrace's probes, drives real
 * traffic and checks what lands in Parquet against what the programs logged out of band.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { nitrace, startHttpServer, query, isRoot, PYTHON, HTTP_PAIR, type ClientLogEntry } from '../testing/liveTestHelpers.js';
import type { CaptureManifest } from './manifest.js';

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';

test('loopback HTTP: every request and response on both sides, exact bytes, 4-tuples, payload heads, redaction', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-live-'));
  const server = await startHttpServer();
  try {
    const out = join(dir, 'cap');
    const log = join(dir, 'client.json');
    const r = await nitrace(['capture', '--out', out, '--port', String(server.port), '--', PYTHON, HTTP_PAIR, 'client', '--port', String(server.port), '--log', log]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as CaptureManifest;
    assert.equal(manifest.status, 'complete');
    assert.equal(manifest.losses.ringbuf_drops, 0);
    assert.ok(manifest.segments.length >= 1);
    assert.equal(manifest.events.written, manifest.segments.reduce((s, x) => s + x.rows, 0));
    const conns = JSON.parse(readFileSync(log, 'utf8')) as ClientLogEntry[];
    assert.equal(conns.length, 1 + 10 + 1 + 4);
    const events = `read_parquet('${out}/events/*.parquet')`;
    const P = server.port;

    for (const c of conns) {
      // Client side: its local port is the connection's; server side: the same 4-tuple seen from the server.
      const [[cSent, cRecv, cSends]] = await query<[bigint, bigint, bigint]>(`SELECT
          sum(bytes) FILTER (direction = 'send'), sum(bytes) FILTER (direction = 'recv'), count(*) FILTER (direction = 'send')
        FROM ${events} WHERE event = 'data' AND local_port = ${c.local_port} AND remote_port = ${P}
          AND local_addr = '127.0.0.1' AND remote_addr = '127.0.0.1'`);
      assert.equal(Number(cSent), c.sent, `client bytes sent on :${c.local_port} (${c.scenario})`);
      assert.equal(Number(cRecv), c.received, `client bytes received on :${c.local_port}`);
      assert.equal(Number(cSends), c.requests.length, 'one sendall() per request');
      const [[sRecv, sSent]] = await query<[bigint, bigint]>(`SELECT
          sum(bytes) FILTER (direction = 'recv'), sum(bytes) FILTER (direction = 'send')
        FROM ${events} WHERE event = 'data' AND local_port = ${P} AND remote_port = ${c.local_port}`);
      assert.equal(Number(sRecv), c.sent, `server bytes received from :${c.local_port}`);
      assert.equal(Number(sSent), c.received, `server bytes sent to :${c.local_port}`);
      // Payload heads: each request line opens one client send, in order.
      const heads = await query<[string]>(`SELECT decode(payload[1:${'POST /large/0?resp=5000'.length + 8}]) FROM ${events}
        WHERE event = 'data' AND direction = 'send' AND local_port = ${c.local_port} ORDER BY mono_ns`);
      assert.deepEqual(heads.map(([h]) => h.split('?')[0]), c.requests.map((q) => q.line.split('?')[0]));
      // The same bytes carry the same TCP sequence numbers on both sides.
      const unmatched = await query(`SELECT tcp_seq FROM ${events} WHERE direction = 'send' AND local_port = ${c.local_port}
        EXCEPT SELECT tcp_seq FROM ${events} WHERE direction = 'recv' AND local_port = ${P} AND remote_port = ${c.local_port}`);
      assert.deepEqual(unmatched, [], 'every client send seq is seen by a server recv');
    }
    // Big bodies: the head is kept, the full size counted, and the cut is flagged.
    const [[maxPayload, truncated]] = await query<[number, bigint]>(`SELECT max(octet_length(payload)), count(*) FILTER (payload_truncated) FROM ${events}`);
    assert.equal(Number(maxPayload), 512);
    assert.ok(Number(truncated) >= 10, 'large requests and responses are truncated heads');
    // Fresh connections show their connect() and close() on the client side.
    const [[connects, closes]] = await query<[bigint, bigint]>(`SELECT count(*) FILTER (event = 'connect'), count(*) FILTER (event = 'close' AND remote_port = ${P}) FROM ${events}`);
    assert.equal(Number(connects), conns.length);
    assert.equal(Number(closes), conns.length);
    // Secrets never reach disk; the structure around them stays.
    const [[leaks, redactedHeaders, redactedBodies]] = await query<[bigint, bigint, bigint]>(`SELECT
        count(*) FILTER (contains(decode(payload), 'secret-token-123') OR contains(decode(payload), 'hunter2')),
        count(*) FILTER (contains(decode(payload), 'X-Auth-Token: ****************')),
        count(*) FILTER (contains(decode(payload), '"password": "*******"'))
      FROM ${events} WHERE event = 'data'`);
    assert.equal(Number(leaks), 0);
    assert.equal(Number(redactedHeaders), 10, '5 requests, seen on both sides');
    assert.equal(Number(redactedBodies), 10);
    // nitrace never traces itself.
    const [[own]] = await query<[bigint]>(`SELECT count(*) FROM ${events} WHERE pid = ${manifest.agent!.pid}`);
    assert.equal(Number(own), 0);
    // The process table names the server with its listening port.
    const procs = await query<[number, string, number[]]>(`SELECT pid, cmdline, listen_ports FROM read_parquet('${out}/processes.parquet') WHERE pid = ${server.pid}`);
    assert.equal(procs.length, 1);
    assert.match(procs[0]![1], /http_pair\.py server/);
    assert.deepEqual([...(procs[0]![2] as unknown as { items: number[] }).items], [P]);
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a server thread already blocked in recv when capture starts: its read is complete (syscall, fd, payload from its registers)', { skip, timeout: 300_000 }, async () => {
  const { startCapture, run } = await import('../testing/liveTestHelpers.js');
  const { existsSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-early-'));
  const server = await startHttpServer();
  try {
    const go = join(dir, 'go');
    // The client connects now (the server thread then blocks in recv), and sends only once capture runs.
    const client = run([PYTHON, '-c', `
import os, socket, time
s = socket.create_connection(('127.0.0.1', ${server.port}))
while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.05)
s.sendall(b'GET /early?resp=10 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
print(s.getsockname()[1], flush=True)
s.recv(1000)
`]);
    await new Promise((r) => setTimeout(r, 500));
    const out = join(dir, 'cap');
    const cap = await startCapture(['--out', out, '--port', String(server.port)]);
    writeFileSync(go, '');
    const c = await client;
    assert.equal(c.code, 0, c.stderr);
    const clientPort = Number(c.stdout.trim());
    const r = await cap.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(out, 'manifest.json')));
    const events = `read_parquet('${out}/events/*.parquet')`;
    const rows = await query<[string, string, number, bigint, bigint, string]>(`SELECT syscall, direction, fd, bytes, tcp_seq, decode(payload)
      FROM ${events} WHERE event = 'data' AND local_port = ${server.port} AND remote_port = ${clientPort} ORDER BY mono_ns`);
    const [syscall, direction, fd, bytes, seq, payload] = rows[0]!;
    // The socket-layer probe reads the syscall's registers when the data arrives, whenever the call began.
    assert.deepEqual([syscall, direction], ['recvfrom', 'recv']);
    assert.ok(fd >= 3, `fd ${fd}`);
    assert.match(payload, /^GET \/early\?resp=10 HTTP\/1.1\r\n/);
    const [[sentBytes, sentSeq]] = await query<[bigint, bigint]>(`SELECT bytes, tcp_seq FROM ${events}
      WHERE direction = 'send' AND local_port = ${clientPort} ORDER BY mono_ns LIMIT 1`);
    assert.equal(bytes, sentBytes, 'same byte count as the client sent');
    assert.equal(seq, sentSeq, 'same TCP sequence number: analysis can take the payload from the peer');
    assert.equal(rows[1]![0], 'sendto', 'the response is an ordinary event');
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
