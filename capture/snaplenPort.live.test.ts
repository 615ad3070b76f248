/**
 * Live test of --snaplen-port (capture schema 2): whole 70 KB messages on one port are kept up to the port's size,
 * one row per syscall, while other ports keep --snaplen heads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { nitrace, query, isRoot, PYTHON } from '../testing/liveTestHelpers.js';
import type { CaptureManifest } from './manifest.js';

/** A TCP port nobody listens on now (the client script binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';

// Two listeners; the client sends the same 70 000-byte message to each, once with send() and once with
// sendmsg() over two iovecs (the gather path). Byte i of a message is i % 251, so any cut or shift shows.
const SCRIPT = `
import json, socket, sys, threading
SIZE = 70000
msg = bytes(i % 251 for i in range(SIZE))
def sink(srv):
    c, _ = srv.accept()
    n = 0
    while n < 2 * SIZE:
        d = c.recv(1 << 20)
        if not d: break
        n += len(d)
    c.sendall(b'ok')
    c.close()
ports = []
for _ in range(2):
    srv = socket.create_server(('127.0.0.1', 0))
    ports.append(srv.getsockname()[1])
    threading.Thread(target=sink, args=(srv,), daemon=True).start()
for p in ports:
    s = socket.create_connection(('127.0.0.1', p))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    assert s.send(msg) == SIZE
    assert s.sendmsg([msg[:30000], msg[30000:]]) == SIZE
    s.recv(10)
    s.close()
json.dump(ports, open(sys.argv[1], 'w'))
`;

test('--snaplen-port PORT=65536 keeps whole 70 KB sends (send and sendmsg gather) on that port, one row per syscall', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-snapport-'));
  try {
    const out = join(dir, 'cap');
    const portsFile = join(dir, 'ports.json');
    const big = await freePort();
    const script = SCRIPT.replace("srv = socket.create_server(('127.0.0.1', 0))", `srv = socket.create_server(('127.0.0.1', ${big} if not ports else 0))`);
    const r = await nitrace(['capture', '--out', out, '--snaplen', '512', '--snaplen-port', `${big}=65536`, '--', PYTHON, '-c', script, portsFile]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as CaptureManifest;
    assert.deepEqual(manifest.config.snaplen_ports, { [String(big)]: 65536 });
    const [bigPort, smallPort] = JSON.parse(readFileSync(portsFile, 'utf8')) as number[];
    assert.equal(bigPort, big);
    const events = `read_parquet('${out}/events/*.parquet')`;
    const expected = Buffer.from(Array.from({ length: 65536 }, (_, i) => i % 251));
    const sends = await query<[string, bigint, { bytes: Uint8Array }]>(`SELECT syscall, bytes, payload FROM ${events}
      WHERE event = 'data' AND direction = 'send' AND remote_port = ${bigPort} ORDER BY mono_ns`);
    assert.deepEqual(sends.map(([s, b]) => [s, Number(b)]), [['sendto', 70000], ['sendmsg', 70000]], 'one row per syscall');
    for (const [syscall, , { bytes: payload }] of sends) {
      assert.equal(payload.length, 65536, `${syscall}: the first 65536 bytes`);
      assert.ok(Buffer.from(payload).equals(expected), `${syscall}: exact bytes`);
    }
    const [[recvBytes, recvPayload]] = await query<[bigint, bigint]>(`SELECT sum(bytes), sum(octet_length(payload)) FROM ${events}
      WHERE event = 'data' AND direction = 'recv' AND local_port = ${bigPort}`);
    assert.equal(Number(recvBytes), 140000);
    assert.ok(Number(recvPayload) >= 65536, 'the receiving side keeps large payloads too');
    const [[smallMax, smallRows]] = await query<[number, bigint]>(`SELECT max(octet_length(payload)), count(*) FROM ${events}
      WHERE event = 'data' AND (remote_port = ${smallPort} OR local_port = ${smallPort})`);
    assert.ok(Number(smallRows) >= 4);
    assert.equal(Number(smallMax), 512, 'other ports keep --snaplen');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
