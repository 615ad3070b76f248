import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics } from '../diagnostics.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { assembleTraces } from './traces.js';

async function withCandidates(spans: string[], cands: [string, string, string, number][], fn: (e: DuckDbEngine, d: Diagnostics) => Promise<void>): Promise<void> {
  const e = await DuckDbEngine.open();
  try {
    await e.exec('CREATE TABLE spans_t (span_id VARCHAR, start_ns BIGINT)');
    await e.insertRows('spans_t', spans.map((s, i) => [s, BigInt(i)]));
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
        "SELECT parent_span_id AS p, child_span_id AS c, evidence AS ev, all_evidence_json AS all FROM edges_t ORDER BY c",
      );
      assert.deepEqual(edges.map((x) => `${x.p}>${x.c} ${x.ev} ${x.all}`), ['s>c1 thread ["thread","timing"]', 'r>s spatial ["spatial"]', 'x>y thread ["thread"]']);
      const links = await e.query<{ span_id: string; trace_id: string }>('SELECT span_id, trace_id FROM span_links ORDER BY span_id');
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
