import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCandidates } from './candidates.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { correlateOwnership } from './ownership.js';

const S = 1_000_000_000;

/**
 * One eventlet process (pid 5, one OS thread) of a schema-1 capture, as nova-conductor looks when the snaplen cut
 * the heads of its RPC messages: handler H1 casts (its head cut, so it looks like a call whose reply cannot be named)
 * and ends; later handler H2 makes a call whose reply cannot be named either, the reply is delivered, and H2 goes on
 * with a SQL statement. The reply must wake H2, not H1, which has waited far longer than any call took.
 */
async function conductor(opts: { namedCall: boolean; gapS: number }): Promise<DuckDbEngine> {
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
  const deliver = async (handler: string, idx: number, t: number) => {
    await span(`D-${handler}`, 'consumer', 'amqp', 'unknown', idx, t);
    await span(handler, 'server', 'amqp', 'unknown', idx, t);
    await msg(idx, 'recv', 'unknown', null);
  };
  if (opts.namedCall) {
    // H0's call and its reply both carry _msg_id m1: a named wait of 0.2 s.
    await deliver('H0', 1, 0);
    await span('N', 'client', 'amqp', 'call', 2, 0.01);
    await msg(2, 'send', 'call', 'm1');
    await span('RN', 'consumer', 'amqp', 'reply', 3, 0.21);
    await msg(3, 'recv', 'reply', 'm1');
  }
  await deliver('H1', 4, 1);
  await span('cast', 'client', 'amqp', 'unknown', 5, 1.01);
  await msg(5, 'send', 'unknown', null);
  const t2 = 1 + opts.gapS;
  await deliver('H2', 6, t2);
  await span('call', 'client', 'amqp', 'unknown', 7, t2 + 0.01);
  await msg(7, 'send', 'unknown', null);
  await span('R2', 'consumer', 'amqp', 'reply', 8, t2 + 0.5);
  await msg(8, 'recv', 'reply', 'm9');
  await span('Q', 'client', 'mysql', null, null, t2 + 0.6, t2 + 0.61);
  await createCandidates(engine);
  return engine;
}

async function ownerOf(engine: DuckDbEngine, child: string): Promise<string[]> {
  const rows = await engine.query<{ l: string }>(`SELECT parent || ' ' || evidence AS l FROM candidates WHERE child = '${child}' ORDER BY 1`);
  return rows.map((r) => r.l);
}

test('unpaired replies: a caller that waited 10x longer than any named call is not woken (a cast whose head was cut)', async () => {
  const engine = await conductor({ namedCall: true, gapS: 5 });
  try {
    await correlateOwnership(engine);
    assert.deepEqual(await ownerOf(engine, 'Q'), ['H2 green:fifo']);
  } finally {
    engine.close();
  }
});

test('unpaired replies: without any named call, oslo.messaging\'s 60 s timeout bounds the wait', async () => {
  for (const [gapS, owner] of [[5, 'H1'], [100, 'H2']] as const) {
    const engine = await conductor({ namedCall: false, gapS });
    try {
      await correlateOwnership(engine);
      // Within the timeout the longest waiting caller is still woken first (the order is all the capture has).
      assert.deepEqual(await ownerOf(engine, 'Q'), [`${owner} green:fifo`], `gap ${gapS} s`);
    } finally {
      engine.close();
    }
  }
});
