import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDbEngine } from '../engine/duckdb.js';
import { correlateOwnership } from './ownership.js';
import { ownersOf, sweepProcess } from '../../testing/sweepProcess.js';

/**
 * One eventlet process (pid 5, one OS thread) of a schema-1 capture, as nova-conductor looks when the snaplen cut
 * the heads of its RPC messages: handler H1 casts (its head cut, so it looks like a call whose reply cannot be named)
 * and ends; later handler H2 makes a call whose reply cannot be named either, the reply is delivered, and H2 goes on
 * with a SQL statement. The reply must wake H2, not H1, which has waited far longer than any call took.
 */
async function conductor(opts: { namedCall: boolean; gapS: number }): Promise<DuckDbEngine> {
  const { span, msg, done } = await sweepProcess();
  const deliver = async (handler: string, idx: number, t: number) => {
    await span({ id: `D-${handler}`, kind: 'consumer', protocol: 'amqp', rpcKind: 'unknown', msg: idx, t });
    await span({ id: handler, kind: 'server', protocol: 'amqp', rpcKind: 'unknown', msg: idx, t });
    await msg(idx, 'recv', 'unknown', null);
  };
  if (opts.namedCall) {
    // H0's call and its reply both carry _msg_id m1: a named wait of 0.2 s.
    await deliver('H0', 1, 0);
    await span({ id: 'N', kind: 'client', protocol: 'amqp', rpcKind: 'call', msg: 2, t: 0.01 });
    await msg(2, 'send', 'call', 'm1');
    await span({ id: 'RN', kind: 'consumer', protocol: 'amqp', rpcKind: 'reply', msg: 3, t: 0.21 });
    await msg(3, 'recv', 'reply', 'm1');
  }
  await deliver('H1', 4, 1);
  await span({ id: 'cast', kind: 'client', protocol: 'amqp', rpcKind: 'unknown', msg: 5, t: 1.01 });
  await msg(5, 'send', 'unknown', null);
  const t2 = 1 + opts.gapS;
  await deliver('H2', 6, t2);
  await span({ id: 'call', kind: 'client', protocol: 'amqp', rpcKind: 'unknown', msg: 7, t: t2 + 0.01 });
  await msg(7, 'send', 'unknown', null);
  await span({ id: 'R2', kind: 'consumer', protocol: 'amqp', rpcKind: 'reply', msg: 8, t: t2 + 0.5 });
  await msg(8, 'recv', 'reply', 'm9');
  await span({ id: 'Q', kind: 'client', protocol: 'mysql', t: t2 + 0.6, resp: t2 + 0.61 });
  return done();
}

test('unpaired replies: a caller that waited 10x longer than any named call is not woken (a cast whose head was cut)', async () => {
  const engine = await conductor({ namedCall: true, gapS: 5 });
  try {
    await correlateOwnership(engine);
    assert.deepEqual(await ownersOf(engine, 'Q'), ['H2 green:fifo']);
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
      assert.deepEqual(await ownersOf(engine, 'Q'), [`${owner} green:fifo`], `gap ${gapS} s`);
    } finally {
      engine.close();
    }
  }
});
