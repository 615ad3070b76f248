import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCandidates } from './candidates.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { correlateOwnership } from './ownership.js';

const S = 1_000_000_000;

/**
 * One eventlet process (pid 5, one OS thread) of a schema-1 capture (no greenlet ids), as nova-scheduler and
 * nova-compute look between requests: a context is made runnable (a cast delivered, or a caller woken by the reply it
 * waited for), runs at the hub's next turn and finishes without any socket I/O; `gapS` later a periodic task makes a
 * SQL call. That call is not the finished context's: on a generated capture of the samples back to back
 * (bench/analyze) such calls took a cast handler 8-58 s old (nova-scheduler's `sync_instance_info`) or a
 * `terminate_instance` 11-131 s old, of the previous run.
 */
async function process5(opts: { wake: 'cast' | 'reply'; gapS: number }): Promise<DuckDbEngine> {
  const engine = await DuckDbEngine.open();
  await engine.exec(`CREATE TABLE spans_raw (span_id VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER, gid UBIGINT, resp_tid INTEGER,
    resp_gid UBIGINT, kind VARCHAR, protocol VARCHAR, broker BOOLEAN, rpc_kind VARCHAR, msg_idx INTEGER,
    raw_start_ns BIGINT, raw_resp_start_ns BIGINT, raw_end_ns BIGINT)`);
  await engine.exec(`CREATE TABLE amqp_msgs (msg_idx INTEGER, node VARCHAR, pid INTEGER, dir VARCHAR, oslo_kind VARCHAR, msg_id VARCHAR)`);
  await engine.exec(`CREATE TABLE events (event VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER, gid UBIGINT, parent_gid UBIGINT, ts_ns BIGINT)`);
  const span = (id: string, kind: string, protocol: string, rpcKind: string | null, msg: number | null, t: number, resp: number | null = null) =>
    engine.exec(`INSERT INTO spans_raw VALUES ('${id}', 'n', 5, 5, NULL, NULL, NULL, '${kind}', '${protocol}', false,
      ${rpcKind === null ? 'NULL' : `'${rpcKind}'`}, ${msg ?? 'NULL'}, ${Math.round(t * S)}, ${resp === null ? 'NULL' : Math.round(resp * S)},
      ${resp === null ? 'NULL' : Math.round((resp + 0.001) * S)})`);
  const msg = (idx: number, dir: string, kind: string | null, msgId: string | null) =>
    engine.exec(`INSERT INTO amqp_msgs VALUES (${idx}, 'n', 5, '${dir}', ${kind === null ? 'NULL' : `'${kind}'`}, ${msgId === null ? 'NULL' : `'${msgId}'`})`);
  // Handler H1 delivered at 0 s.
  await span('D-H1', 'consumer', 'amqp', opts.wake === 'cast' ? 'cast' : 'call', 1, 0);
  await span('H1', 'server', 'amqp', opts.wake === 'cast' ? 'cast' : 'call', 1, 0);
  await msg(1, 'recv', opts.wake === 'cast' ? 'cast' : 'call', null);
  let t = 0;
  if (opts.wake === 'reply') {
    // H1 makes an RPC call (its _msg_id and the reply's name each other), is woken by the reply at 0.05 s and ends.
    await span('C1', 'client', 'amqp', 'call', 2, 0.002);
    await msg(2, 'send', 'call', 'm1');
    await span('R1', 'consumer', 'amqp', 'reply', 3, 0.05);
    await msg(3, 'recv', 'reply', 'm1');
    t = 0.05;
  }
  // The next socket event of the thread: a periodic task's SQL call, `gapS` later.
  await span('Q', 'client', 'mysql', null, null, t + opts.gapS, t + opts.gapS + 0.001);
  await createCandidates(engine);
  return engine;
}

async function ownerOf(engine: DuckDbEngine, child: string): Promise<string[]> {
  const rows = await engine.query<{ l: string }>(`SELECT parent || ' ' || evidence AS l FROM candidates WHERE child = '${child}' ORDER BY 1`);
  return rows.map((r) => r.l);
}

test('hub turn: a context made runnable seconds before a call did no socket I/O and does not own it', async () => {
  for (const wake of ['cast', 'reply'] as const) {
    const engine = await process5({ wake, gapS: 8 });
    try {
      await correlateOwnership(engine);
      assert.deepEqual(await ownerOf(engine, 'Q'), [], `${wake}: the periodic call 8 s later has no owner`);
    } finally {
      engine.close();
    }
  }
});

test('hub turn: a call right after a context was made runnable is still that context\'s (its first I/O)', async () => {
  for (const wake of ['cast', 'reply'] as const) {
    const engine = await process5({ wake, gapS: 0.01 });
    try {
      await correlateOwnership(engine);
      // One inbound request open on the thread: plain thread evidence, as before.
      assert.deepEqual(await ownerOf(engine, 'Q'), ['H1 thread'], `${wake}: a call 10 ms later`);
    } finally {
      engine.close();
    }
  }
});
