/**
 * Live test of green-thread identity (capture schema 2): an eventlet server whose handlers interleave on one OS
 * thread (capture/testdata/green_pair.py), captured with the greenlet uprobes. Truth comes out of band: the client
 * logs which client and backend connections belong to each request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../core/version.js';
import { nitrace, query, isRoot, PYTHON } from '../testing/liveTestHelpers.js';
import type { CaptureManifest } from './manifest.js';

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';
const GREEN_PAIR = join(packageRoot, 'capture', 'testdata', 'green_pair.py');

async function startPart(args: string[], portfile: string): Promise<{ pid: number; port: number; stop: () => void }> {
  const child = spawn(PYTHON, [GREEN_PAIR, ...args, '--portfile', portfile], { stdio: 'ignore' });
  // Importing eventlet takes seconds on a busy machine.
  for (let i = 0; i < 600 && !existsSync(portfile); i++) await sleep(100);
  if (!existsSync(portfile)) throw new Error(`green_pair.py ${args[0]} did not start`);
  return { pid: child.pid!, port: Number(readFileSync(portfile, 'utf8')), stop: () => child.kill('SIGKILL') };
}

test('eventlet handlers on one OS thread: each one\'s calls share a gid, all spawned by one greenlet, EAGAIN reads are block events', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-green-'));
  const parts: { stop: () => void }[] = [];
  try {
    const backend = await startPart(['backend'], join(dir, 'backend.port'));
    parts.push(backend);
    const server = await startPart(['server', '--backend', String(backend.port)], join(dir, 'server.port'));
    parts.push(server);
    await sleep(1200); // the agent attaches to greenlet libraries of processes at least 1 s old
    const out = join(dir, 'cap');
    const log = join(dir, 'client.json');
    const r = await nitrace(['capture', '--out', out, '--pid', String(server.pid), '--', PYTHON, GREEN_PAIR, 'client', '--port', String(server.port), '--count', '8', '--log', log]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as CaptureManifest;
    assert.equal(manifest.schema_version, 2);
    assert.deepEqual(manifest.greenlet!.attached.flatMap((l) => l.pids), [server.pid], 'probes in the traced process only');
    assert.ok(manifest.counters.green_switches! >= 16, `switches counted: ${manifest.counters.green_switches}`);
    const requests = JSON.parse(readFileSync(log, 'utf8')) as { request: number; client_port: number; backend_port: number }[];
    assert.equal(requests.length, 8);
    const events = `read_parquet('${out}/events/*.parquet')`;

    const [[threads, withoutGid]] = await query<[bigint, bigint]>(`SELECT count(DISTINCT tid), count(*) FILTER (gid IS NULL) FROM ${events}`);
    assert.equal(Number(threads), 1, 'all handlers run on one OS thread');
    assert.equal(Number(withoutGid), 0, 'every event carries a gid');

    // The accepting greenlet spawns every handler (accept itself is not a socket-layer event: it has no row).
    const parents = await query<[bigint, bigint]>(`SELECT parent_gid, count(*) FROM ${events} WHERE event = 'green_spawn' GROUP BY ALL`);
    assert.equal(parents.length, 1, `one spawner: ${JSON.stringify(parents.map(([p, n]) => [String(p), Number(n)]))}`);
    const [[acceptGid]] = parents;
    const handlerGids = new Set<bigint>();
    for (const q of requests) {
      const rows = await query<[bigint, string, string | null, number]>(`SELECT DISTINCT gid, event, direction, local_port FROM ${events}
        WHERE event IN ('data', 'block', 'connect', 'close')
          AND ((local_port = ${server.port} AND remote_port = ${q.client_port}) OR local_port = ${q.backend_port})`);
      const gids = new Set(rows.map(([g]) => g));
      assert.equal(gids.size, 1, `request ${q.request}: its client and backend calls share one gid (${[...gids].join(', ')})`);
      const [gid] = [...gids];
      assert.notEqual(gid, acceptGid, 'a handler is not the accepting greenlet');
      handlerGids.add(gid!);
      const kinds = new Set(rows.map(([, e, d, p]) => `${e}/${d}/${Number(p) === q.backend_port ? 'backend' : 'client'}`));
      for (const k of ['data/recv/client', 'connect/null/backend', 'data/send/backend', 'block/recv/backend', 'data/recv/backend', 'data/send/client']) {
        assert.ok(kinds.has(k), `request ${q.request}: ${k} seen (${[...kinds].join(' ')})`);
      }
      const spawns = await query<[bigint]>(`SELECT parent_gid FROM ${events} WHERE event = 'green_spawn' AND gid = ${gid}`);
      assert.deepEqual(spawns.map(([p]) => p), [acceptGid], `request ${q.request}: spawned once, by the accepting greenlet`);
    }
    assert.equal(handlerGids.size, 8, 'concurrent handlers have distinct gids');
    const [[blockRows, blockBytes, blockSeq]] = await query<[bigint, bigint, bigint]>(`SELECT count(*), sum(bytes), count(tcp_seq) FROM ${events} WHERE event = 'block'`);
    assert.ok(Number(blockRows) >= 8);
    assert.equal(Number(blockBytes), 0, 'a block moved no bytes');
    assert.equal(blockSeq, blockRows, 'a block carries the current TCP sequence number');
  } finally {
    for (const p of parts) p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
