import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics } from '../diagnostics.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { assembleTraces } from './traces.js';
import { traceId } from '../messages/spanId.js';

async function withCandidates(spans: string[], cands: [string, string, string, number][], fn: (e: DuckDbEngine, d: Diagnostics) => Promise<void>): Promise<void> {
  const e = await DuckDbEngine.open();
  try {
    // internal ids in the reverse order of the public ones: ties must still go to the smaller public id
    await e.exec('CREATE TABLE spans_raw (sid BIGINT, span_id VARCHAR)');
    await e.insertRows('spans_raw', spans.map((s, i) => [BigInt(100 - i), s]));
    await e.exec('CREATE TABLE candidates (parent VARCHAR, child VARCHAR, evidence VARCHAR, confidence DOUBLE)');
    await e.insertRows('candidates', cands);
    await fn(e, new Diagnostics());
  } finally {
    e.close();
  }
}

test('traces: agreeing evidence combines and beats a single stronger-looking kind; components -> one root each', async () => {
  await withCandidates(
    ['r', 's', 'c1', 'x', 'y'],
    [
      ['r', 's', 'spatial', 1],
      ['s', 'c1', 'thread', 0.5],
      ['s', 'c1', 'timing', 0.3],
      ['x', 'c1', 'content:x-request-id', 0.6],
      ['x', 'y', 'thread', 0.9],
    ],
    async (e, d) => {
      const r = await assembleTraces(e, d);
      assert.deepEqual(r, { traces: 2, edges: 3 });
      const edges = await e.query<{ p: string; c: string; ev: string; all: string }>(
        "SELECT e.parent_span_id AS p, c.span_id AS c, evidence AS ev, all_evidence_json AS all FROM edges_t e JOIN spans_raw c ON c.sid = e.child_sid ORDER BY c",
      );
      assert.deepEqual(edges.map((x) => `${x.p}>${x.c} ${x.ev} ${x.all}`), ['s>c1 thread ["thread","timing"]', 'r>s spatial ["spatial"]', 'x>y thread ["thread"]']);
      const links = await e.query<{ span_id: string; trace_id: string }>('SELECT s.span_id, l.trace_id FROM span_links l JOIN spans_raw s ON s.sid = l.sid ORDER BY s.span_id');
      const t = Object.fromEntries(links.map((l) => [l.span_id, l.trace_id]));
      assert.equal(t.r, t.c1);
      assert.notEqual(t.r, t.x);
    },
  );
});

test('traces: a link that would close a cycle is dropped and counted', async () => {
  await withCandidates(
    ['a', 'b'],
    [
      ['a', 'b', 'spatial', 1],
      ['b', 'a', 'thread', 0.9],
    ],
    async (e, d) => {
      const r = await assembleTraces(e, d);
      assert.deepEqual(r, { traces: 1, edges: 1 });
      assert.deepEqual(d.warnings.map((w) => w.code), ['edge-cycle']);
    },
  );
});

test('traces: equally strong parents go to the smaller public id; the trace id is derived from the root public id', async () => {
  await withCandidates(
    ['p1', 'p2', 'c'],
    [
      ['p2', 'c', 'timing', 0.5],
      ['p1', 'c', 'timing', 0.5],
    ],
    async (e, d) => {
      assert.deepEqual(await assembleTraces(e, d), { traces: 2, edges: 1 });
      const [edge] = await e.query<{ p: string; alternatives: number }>('SELECT parent_span_id AS p, alternatives FROM edges_t');
      assert.deepEqual(edge, { p: 'p1', alternatives: 1 });
      const links = await e.query<{ span_id: string; parent: string | null; trace_id: string }>(
        'SELECT s.span_id, l.parent_span_id AS parent, l.trace_id FROM span_links l JOIN spans_raw s ON s.sid = l.sid ORDER BY s.span_id',
      );
      assert.deepEqual(links, [
        { span_id: 'c', parent: 'p1', trace_id: traceId('p1') },
        { span_id: 'p1', parent: null, trace_id: traceId('p1') },
        { span_id: 'p2', parent: null, trace_id: traceId('p2') },
      ]);
    },
  );
});
