import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDbEngine } from '../engine/duckdb.js';
import { correlateOwnership } from './ownership.js';
import { ownersOf, sweepProcess } from '../../testing/sweepProcess.js';

/**
 * One eventlet process (pid 5, one OS thread) of a schema-1 capture (no greenlet ids), as nova-scheduler and
 * nova-compute look between requests: a context is made runnable (a cast delivered, or a caller woken by the reply it
 * waited for), runs at the hub's next turn and finishes without any socket I/O; `gapS` later a periodic task makes a
 * SQL call. That call is not the finished context's: on a generated capture of the samples back to back
 * (bench/analyze) such calls took a cast handler 8-58 s old (nova-scheduler's `sync_instance_info`) or a
 * `terminate_instance` 11-131 s old, of the previous run.
 */
async function process5(opts: { wake: 'cast' | 'reply'; gapS: number }): Promise<DuckDbEngine> {
  const { span, msg, done } = await sweepProcess();
  const rpcKind = opts.wake === 'cast' ? 'cast' : 'call';
  // Handler H1 delivered at 0 s.
  await span({ id: 'D-H1', kind: 'consumer', protocol: 'amqp', rpcKind, msg: 1, t: 0 });
  await span({ id: 'H1', kind: 'server', protocol: 'amqp', rpcKind, msg: 1, t: 0 });
  await msg(1, 'recv', rpcKind, null);
  let t = 0;
  if (opts.wake === 'reply') {
    // H1 makes an RPC call (its _msg_id and the reply's name each other), is woken by the reply at 0.05 s and ends.
    await span({ id: 'C1', kind: 'client', protocol: 'amqp', rpcKind: 'call', msg: 2, t: 0.002 });
    await msg(2, 'send', 'call', 'm1');
    await span({ id: 'R1', kind: 'consumer', protocol: 'amqp', rpcKind: 'reply', msg: 3, t: 0.05 });
    await msg(3, 'recv', 'reply', 'm1');
    t = 0.05;
  }
  // The next socket event of the thread: a periodic task's SQL call, `gapS` later.
  await span({ id: 'Q', kind: 'client', protocol: 'mysql', t: t + opts.gapS, resp: t + opts.gapS + 0.001 });
  return done();
}

test('hub turn: a context made runnable seconds before a call did no socket I/O and does not own it', async () => {
  for (const wake of ['cast', 'reply'] as const) {
    const engine = await process5({ wake, gapS: 8 });
    try {
      await correlateOwnership(engine);
      assert.deepEqual(await ownersOf(engine, 'Q'), [], `${wake}: the periodic call 8 s later has no owner`);
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
      assert.deepEqual(await ownersOf(engine, 'Q'), ['H1 thread'], `${wake}: a call 10 ms later`);
    } finally {
      engine.close();
    }
  }
});
