import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDbEngine } from '../engine/duckdb.js';
import { correlateOwnership } from './ownership.js';
import { correlateTiming } from './timing.js';
import { ownersOf, sweepProcess } from '../../testing/sweepProcess.js';

/**
 * One eventlet process (pid 5, one OS thread) of a schema-2 capture (every syscall names its greenlet), as
 * nova-compute looks on the compute-large sample: a poller greenlet (100) reads an RPC request H1 and spawns its
 * handler greenlet (1); an HTTP request S is read and answered by greenlet 9; greenlet 7 was never spawned by
 * anything working for a request (a periodic task alive since before the capture) and makes calls while the other
 * two run. Its calls are background work: no request owns them, whatever context the OS thread ran last.
 */
async function compute(name: (id: string) => string = (id) => id): Promise<DuckDbEngine> {
  const { span: addSpan, msg, spawn, done } = await sweepProcess();
  const span: typeof addSpan = (s) => addSpan({ ...s, id: name(s.id) });
  const call = (id: string, gid: number, t: number, resp: number) => span({ id, gid, kind: 'client', protocol: 'mysql', t, resp });
  // H1: a cast delivered to poller 100, handled by greenlet 1 (spawned by the poller), which makes query Q1.
  await span({ id: 'D-H1', gid: 100, kind: 'consumer', protocol: 'amqp', rpcKind: 'cast', msg: 1, t: 1 });
  await span({ id: 'H1', gid: 100, kind: 'server', protocol: 'amqp', rpcKind: 'cast', msg: 1, t: 1 });
  await msg(1, 'recv', 'cast', null);
  await spawn(1, 100, 1.001);
  await call('Q1', 1, 1.01, 1.02);
  // Greenlet 7 (no spawn seen) calls right after greenlet 1 resumed: the OS thread's running context is H1's.
  await call('QB1', 7, 1.03, 1.04);
  // S: an HTTP request read by greenlet 9 and answered at 2.1; greenlet 7 calls inside S's window, greenlet 9
  // cleans up after answering (its request's still).
  await span({ id: 'S', gid: 9, kind: 'server', protocol: 'http', t: 2, resp: 2.1, end: 2.1 });
  await call('QB2', 7, 2.05, 2.06);
  await call('QW', 9, 2.2, 2.21);
  // U: a uWSGI-style request read before the capture saw its thread's greenlet (gid NULL), continued by greenlet 11.
  await span({ id: 'U', kind: 'server', protocol: 'http', t: 3, resp: 3.1, end: 3.1 });
  await call('QU', 11, 3.05, 3.06);
  return done();
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

test('span ids of 16 hex digits (the sweep reads them as numbers) give the same links and unowned spans', async () => {
  // Real span ids are 16 lower-case hex digits, leading zeros included; any other id (upper case here) stays text.
  const ids: Record<string, string> = {
    'D-H1': '00000000000000d1', H1: '0000000000000001', Q1: '0a00000000000001', QB1: '00000000000000b1', QB2: 'ffffffffffffffb2',
    S: '5000000000000000', QW: 'ABCDEF0123456789', U: '000000000000000f', QU: '0f00000000000000',
  };
  const engine = await compute((id) => ids[id] ?? id);
  try {
    await correlateOwnership(engine);
    assert.deepEqual(await ownersOf(engine, ids.Q1!), [`${ids.H1} green:greenlet`]);
    assert.deepEqual(await ownersOf(engine, ids.QW!), [`${ids.S} green:greenlet`]);
    assert.deepEqual(await ownersOf(engine, ids.QU!), [`${ids.U} thread`]);
    const unowned = await engine.query<{ span_id: string }>('SELECT span_id FROM green_unowned ORDER BY 1');
    assert.deepEqual(unowned.map((r) => r.span_id), [ids.QB1, ids.QB2]);
  } finally {
    engine.close();
  }
});
