/**
 * Live test: a connection already busy when the capture starts is recorded from the start on, with --port and with
 * --pid. The probes used to be attached as BCC loaded them, before the agent filled the filter maps: a socket (or
 * thread) seen in that window kept the verdict of empty filters for its whole life, and nova's RabbitMQ consumer
 * connections went unrecorded for a whole Tempest run (capture/bpf_load.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { nitrace, query, isRoot, PYTHON } from '../testing/liveTestHelpers.js';
import { freePorts } from '../testing/freePorts.js';

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';

// A ping-pong over one connection every ~2 ms, one process, until killed; 'ready' once the connection is up.
const LOOP = `
import socket, sys, threading, time
srv = socket.create_server(('127.0.0.1', int(sys.argv[1])))
def echo():
    c, _ = srv.accept()
    while True:
        d = c.recv(100)
        if not d: return
        c.sendall(d)
threading.Thread(target=echo, daemon=True).start()
cl = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
print('ready', flush=True)
while True:
    cl.sendall(b'ping'); cl.recv(100); time.sleep(0.002)
`;

test('a connection busy before the capture starts is recorded (--port, --pid)', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-busy-'));
  const [port] = await freePorts(1);
  const loop = spawn(PYTHON, ['-c', LOOP, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await once(loop.stdout!, 'data');
    for (const [name, filter] of [['port', ['--port', String(port)]], ['pid', ['--pid', String(loop.pid)]]] as const) {
      const out = join(dir, name);
      const r = await nitrace(['capture', '--out', out, ...filter, '--duration', '3', '--quiet']);
      assert.equal(r.code, 0, r.stderr);
      const [[sends, recvs]] = await query<[bigint, bigint]>(`SELECT count(*) FILTER (direction = 'send'), count(*) FILTER (direction = 'recv')
        FROM read_parquet('${out}/events/*.parquet') WHERE event = 'data' AND (local_port = ${port} OR remote_port = ${port})`);
      // ~1 000 round trips in 3 s on a quiet machine; far fewer only if the loop's socket was left out.
      assert.ok(Number(sends) >= 100 && Number(recvs) >= 100, `--${name}: ${sends} sends, ${recvs} recvs on the busy connection`);
    }
  } finally {
    loop.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
