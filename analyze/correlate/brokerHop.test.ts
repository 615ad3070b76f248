import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDbEngine } from '../engine/duckdb.js';
import { correlateBrokerHops } from './brokerHop.js';

test('broker hops: an RPC call published by one process links to its delivery in another by _msg_id', async () => {
  const e = await DuckDbEngine.open();
  try {
    await e.exec(`CREATE TABLE spans_t (span_id VARCHAR, kind VARCHAR, node VARCHAR, pid INTEGER, protocol VARCHAR, start_ns BIGINT)`);
    await e.insertRows('spans_t', [
      ['caller', 'client', 'a', 1, 'amqp', 1000n],
      ['server', 'server', 'b', 2, 'amqp', 2_000_000n],
      ['early', 'server', 'b', 3, 'amqp', -5_000_000n], // delivered before it was published: not the hop
      ['other', 'server', 'b', 2, 'amqp', 3_000_000n],
    ]);
    await e.exec('CREATE TABLE span_ids (span_id VARCHAR, field VARCHAR, value VARCHAR)');
    await e.insertRows('span_ids', [
      ['caller', '_msg_id', 'm1'],
      ['caller', 'request_id', 'req-1'],
      ['server', '_msg_id', 'm1'],
      ['early', '_msg_id', 'm1'],
      ['other', 'request_id', 'req-1'],
    ]);
    await e.exec('CREATE TABLE candidates (parent VARCHAR, child VARCHAR, evidence VARCHAR, confidence DOUBLE)');
    await correlateBrokerHops(e);
    assert.deepEqual(await e.query('SELECT parent, child, evidence, confidence FROM candidates'), [
      { parent: 'caller', child: 'server', evidence: 'content:_msg_id', confidence: 0.95 },
    ]);
  } finally {
    e.close();
  }
});
