import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCandidates } from './candidates.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { correlateDbSessions } from './dbSession.js';
import { estimateHandlerEnds } from './handlerEnds.js';

/**
 * A conductor-like process (pid 5): `object_action` handlers P (reply named by `_msg_id`: it ends) and U (reply cut:
 * no end on the wire), a cast handler C (`schedule_and_build_instances`: no reply at all), then a reply nothing names
 * and a database session that no sweep guess or UUID places.
 */
async function conductorLike(): Promise<DuckDbEngine> {
  const engine = await DuckDbEngine.open();
  await engine.exec(`CREATE TABLE spans_raw (span_id VARCHAR, node VARCHAR, pid INTEGER, conn_idx INTEGER, protocol VARCHAR, kind VARCHAR,
    method VARCHAR, path VARCHAR, rpc_kind VARCHAR, broker BOOLEAN, raw_start_ns BIGINT, raw_end_ns BIGINT, gid BIGINT)`);
  const rows = [
    `('P', 'n', 5, 1, 'amqp', 'server', 'object_action', 'nova/conductor', 'call', false, 0, 5, NULL)`,
    `('P-reply', 'n', 5, 1, 'amqp', 'producer', 'reply', '/reply_x', 'reply', false, 5, 5, NULL)`,
    `('C', 'n', 5, 1, 'amqp', 'server', 'schedule_and_build_instances', 'nova/conductor', 'unknown', false, 10, NULL, NULL)`,
    `('U', 'n', 5, 1, 'amqp', 'server', 'object_action', 'nova/conductor', 'unknown', false, 20, NULL, NULL)`,
    `('U-reply', 'n', 5, 1, 'amqp', 'producer', 'reply', '/reply_x', 'reply', false, 30, 30, NULL)`,
    `('q1', 'n', 5, 2, 'mysql', 'client', 'SELECT', 'SELECT ?', NULL, false, 40, 41, NULL)`,
    `('q2', 'n', 5, 2, 'mysql', 'client', 'SELECT', 'SELECT quotas', NULL, false, 42, 43, NULL)`,
    `('q3', 'n', 5, 2, 'mysql', 'client', 'ROLLBACK', 'ROLLBACK', NULL, false, 44, 45, NULL)`,
  ];
  await engine.exec(`INSERT INTO spans_raw VALUES ${rows.join(', ')}`);
  await createCandidates(engine);
  await engine.exec(`INSERT INTO candidates VALUES ('P', 'P-reply', 'content:_msg_id', 1)`);
  await engine.exec('CREATE TABLE resource_ids (span_id VARCHAR, value VARCHAR, kind VARCHAR)');
  return engine;
}

test('handler ends: an unnamed reply ends the open handler of a call method; a session begun with one request open is its', async () => {
  const engine = await conductorLike();
  try {
    await estimateHandlerEnds(engine);
    const ends = await engine.query<{ l: string }>(`SELECT span_id || ' ' || CAST(end_ns AS VARCHAR) || ' ' || how AS l FROM handler_ends ORDER BY 1`);
    // U's method is a call (P was paired): the reply ends it; C's never was, and no later delivery of it: open
    assert.deepEqual(ends.map((r) => r.l), ['U 30 reply']);
    await correlateDbSessions(engine);
    const owners = await engine.query<{ l: string }>(`SELECT child || '<-' || parent || ' ' || evidence AS l FROM candidates
      WHERE child LIKE 'q%' ORDER BY child`);
    assert.deepEqual(owners.map((r) => r.l), ['q1<-C green:one_open', 'q2<-C green:one_open', 'q3<-C green:one_open']);
  } finally {
    engine.close();
  }
});

test('handler ends: a session begun while two requests are open gets no owner from that', async () => {
  const engine = await conductorLike();
  try {
    await engine.exec(`DELETE FROM spans_raw WHERE span_id = 'U-reply'`);
    await estimateHandlerEnds(engine);
    await correlateDbSessions(engine);
    const owners = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM candidates WHERE child LIKE 'q%'`);
    assert.equal(Number(owners[0]!.n), 0);
  } finally {
    engine.close();
  }
});

test('handler ends: a cast handler is over for such sessions once the next delivery of its method began', async () => {
  const engine = await conductorLike();
  try {
    await engine.exec(`INSERT INTO spans_raw VALUES ('C2', 'n', 5, 1, 'amqp', 'server', 'schedule_and_build_instances', 'nova/conductor', 'unknown', false, 35, NULL, NULL)`);
    await estimateHandlerEnds(engine);
    const ends = await engine.query<{ l: string }>(`SELECT span_id || ' ' || CAST(end_ns AS VARCHAR) || ' ' || how AS l FROM handler_ends ORDER BY 1`);
    assert.deepEqual(ends.map((r) => r.l), ['C 35 next', 'U 30 reply']);
    await correlateDbSessions(engine);
    const owners = await engine.query<{ l: string }>(`SELECT child || '<-' || parent || ' ' || evidence AS l FROM candidates
      WHERE child LIKE 'q%' ORDER BY child`);
    assert.deepEqual(owners.map((r) => r.l), ['q1<-C2 green:one_open', 'q2<-C2 green:one_open', 'q3<-C2 green:one_open']);
  } finally {
    engine.close();
  }
});

test('handler ends: with greenlet ids a session nothing places stays unowned (a greenlet no request owns)', async () => {
  const engine = await conductorLike();
  try {
    await engine.exec(`UPDATE spans_raw SET gid = 7 WHERE span_id LIKE 'q%'`);
    await estimateHandlerEnds(engine);
    await correlateDbSessions(engine);
    const owners = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM candidates WHERE child LIKE 'q%'`);
    assert.equal(Number(owners[0]!.n), 0);
  } finally {
    engine.close();
  }
});
