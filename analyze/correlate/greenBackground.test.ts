import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCandidates } from './candidates.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { correlateOwnership } from './ownership.js';
import { correlateTiming } from './timing.js';

const S = 1_000_000_000;

/**
 * One eventlet process (pid 5, one OS thread) of a schema-2 capture (every syscall names its greenlet), as
 * nova-compute looks on the compute-large sample: a poller greenlet (100) reads an RPC request H1 and spawns its
 * handler greenlet (1); an HTTP request S is read and answered by greenlet 9; greenlet 7 was never spawned by
 * anything working for a request (a periodic task alive since before the capture) and makes calls while the other
 * two run. Its calls are background work: no request owns them, whatever context the OS thread ran last.
 */
async function compute(): Promise<DuckDbEngine> {
  const engine = await DuckDbEngine.open();
  await engine.exec(`CREATE TABLE spans_raw (span_id VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER, gid UBIGINT, resp_tid INTEGER,
    resp_gid UBIGINT, kind VARCHAR, protocol VARCHAR, broker BOOLEAN, rpc_kind VARCHAR, msg_idx INTEGER,
    raw_start_ns BIGINT, raw_resp_start_ns BIGINT, raw_end_ns BIGINT)`);
  await engine.exec(`CREATE TABLE amqp_msgs (msg_idx INTEGER, node VARCHAR, pid INTEGER, dir VARCHAR, oslo_kind VARCHAR, msg_id VARCHAR)`);
  await engine.exec(`CREATE TABLE events (event VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER, gid UBIGINT, parent_gid UBIGINT, ts_ns BIGINT)`);
  const ns = (t: number | null) => (t === null ? 'NULL' : String(Math.round(t * S)));
  const span = (id: string, gid: number | null, kind: string, protocol: string, t: number, resp: number | null = null, end: number | null = null, msg: number | null = null) =>
    engine.exec(`INSERT INTO spans_raw VALUES ('${id}', 'n', 5, 5, ${gid ?? 'NULL'}, NULL, NULL, '${kind}', '${protocol}', false,
      ${protocol === 'amqp' ? "'cast'" : 'NULL'}, ${msg ?? 'NULL'}, ${ns(t)}, ${ns(resp)}, ${ns(end ?? (resp === null ? null : resp + 0.001))})`);
  // H1: a cast delivered to poller 100, handled by greenlet 1 (spawned by the poller), which makes query Q1.
  await span('D-H1', 100, 'consumer', 'amqp', 1, null, null, 1);
  await span('H1', 100, 'server', 'amqp', 1, null, null, 1);
  await engine.exec(`INSERT INTO amqp_msgs VALUES (1, 'n', 5, 'recv', 'cast', NULL)`);
  await engine.exec(`INSERT INTO events VALUES ('green_spawn', 'n', 5, 5, 1, 100, ${ns(1.001)})`);
  await span('Q1', 1, 'client', 'mysql', 1.01, 1.02);
  // Greenlet 7 (no spawn seen) calls right after greenlet 1 resumed: the OS thread's running context is H1's.
  await span('QB1', 7, 'client', 'mysql', 1.03, 1.04);
  // S: an HTTP request read by greenlet 9 and answered at 2.1; greenlet 7 calls inside S's window, greenlet 9
  // cleans up after answering (its request's still).
  await span('S', 9, 'server', 'http', 2, 2.1, 2.1);
  await span('QB2', 7, 'client', 'mysql', 2.05, 2.06);
  await span('QW', 9, 'client', 'mysql', 2.2, 2.21);
  // U: a uWSGI-style request read before the capture saw its thread's greenlet (gid NULL), continued by greenlet 11.
  await span('U', null, 'server', 'http', 3, 3.1, 3.1);
  await span('QU', 11, 'client', 'mysql', 3.05, 3.06);
  await createCandidates(engine);
  return engine;
}

async function ownersOf(engine: DuckDbEngine, child: string): Promise<string[]> {
  const rows = await engine.query<{ l: string }>(`SELECT parent || ' ' || evidence AS l FROM candidates WHERE child = '${child}' ORDER BY 1`);
  return rows.map((r) => r.l);
}

test('greenlet ids: calls of a green thread no request owns get no owner, from the sweep or from timing', async () => {
  const engine = await compute();
  try {
    await correlateOwnership(engine);
    await correlateTiming(engine);
    assert.deepEqual(await ownersOf(engine, 'Q1'), ['H1 green:greenlet']);
    assert.deepEqual(await ownersOf(engine, 'QB1'), []);
    assert.deepEqual(await ownersOf(engine, 'QB2'), []);
    const unowned = await engine.query<{ span_id: string }>('SELECT span_id FROM green_unowned ORDER BY 1');
    assert.deepEqual(unowned.map((r) => r.span_id), ['QB1', 'QB2']);
  } finally {
    engine.close();
  }
});

test('greenlet ids: a green thread keeps the request it answered for its cleanup calls; an unnamed one is continued', async () => {
  const engine = await compute();
  try {
    await correlateOwnership(engine);
    assert.deepEqual(await ownersOf(engine, 'QW'), ['S green:greenlet']);
    // a request whose greenlet the capture had not named yet is continued by the first one named on its thread
    assert.deepEqual(await ownersOf(engine, 'QU'), ['U thread']);
  } finally {
    engine.close();
  }
});
