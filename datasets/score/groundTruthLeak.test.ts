/**
 * Ground truth must never be evidence. OSProfiler's X-Trace-Info (base64 JSON {base_id, parent_id}) and
 * X-Trace-HMAC ride on every profiled HTTP request; a correlator that matched them would "reconstruct" traces from
 * the answer. This test builds a capture where the only link between two inbound requests and two outbound calls
 * handed to a pool thread is those headers, then swaps the headers between the two outbound calls: the analysis
 * must come out the same, edge for edge, and no trace id may surface in the spans. (Checked the other way too:
 * putting the same ids in X-Request-ID, which analysis does use, makes this test fail.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeCaptures } from '../../analyze/analyze.js';
import { SyntheticCapture, type Endpoint } from '../../testing/syntheticCapture.js';
import { readObserved } from './observed.js';

const ms = 1_000_000n;
const T0 = 1_795_759_756_000_000_000n;
const BASES = ['3f2e8a40-1111-4c9b-9d7e-5a1f00000001', '3f2e8a40-2222-4c9b-9d7e-5a1f00000002'];

function traceHeaders(base: string, parent: string): Record<string, string> {
  const info = Buffer.from(JSON.stringify({ base_id: base, parent_id: parent })).toString('base64url');
  return { 'X-Trace-Info': info, 'X-Trace-HMAC': 'c0ffee'.repeat(20).slice(0, 128) };
}

/** tempest -> glance (2 overlapping requests, threads 21/22); glance's pool thread 23 validates both tokens. */
async function capture(root: string, swap: boolean): Promise<string[]> {
  const cap = new SyntheticCapture();
  const ep = (pid: number, comm: string, port: number): Endpoint => ({ node: 'vm', pid, comm, addr: '127.0.0.1', port });
  const tempest = [ep(99, 'tempest', 41000), ep(98, 'tempest', 41001)];
  const glance = ep(20, 'glance-api', 9292);
  const glanceOut = [ep(20, 'glance-api', 42000), ep(20, 'glance-api', 42001)];
  const keystone = ep(10, 'uwsgi', 5000);
  for (let i = 0; i < 2; i++) {
    const t = T0 + BigInt(i) * 5n * ms;
    const inbound = cap.connect(tempest[i]!, glance);
    cap.http(inbound, { t, tResp: t + 60n * ms, clientTid: 99 - i, serverTid: 21 + i, path: `/v2/images/${i}`, headers: traceHeaders(BASES[i]!, BASES[i]!) });
  }
  for (let i = 0; i < 2; i++) {
    const t = T0 + 20n * ms + BigInt(i) * 10n * ms;
    const j = swap ? 1 - i : i;
    const out = cap.connect(glanceOut[i]!, keystone);
    cap.http(out, { t, tResp: t + 5n * ms, clientTid: 23, serverTid: 11, path: '/v3/auth/tokens', headers: traceHeaders(BASES[j]!, `point-of-request-${j}`) });
  }
  return cap.write(root, ['vm'], [{ node: 'vm', pid: 20, comm: 'glance-api', cmdline: '/usr/bin/glance-api' }]);
}

/** Edges described by what the capture fixes (side, pid, tid, path, start), not by payload-derived ids. */
async function describe(out: string): Promise<{ edges: string[]; ids: string }> {
  const o = await readObserved(out);
  const d = new Map(o.spans.map((s) => [s.span_id, `${s.kind}:${s.pid}/${s.tid}:${s.path}@${Math.round(s.start_us)}`]));
  const edges = o.edges.map((e) => `${d.get(e.parent_span_id)} -> ${d.get(e.child_span_id)}`).sort();
  return { edges, ids: JSON.stringify(o.spans) };
}

test('swapping OSProfiler headers between calls changes nothing in the reconstruction', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-leak-'));
  try {
    const results = [];
    for (const swap of [false, true]) {
      const dirs = await capture(join(root, `cap-${swap}`), swap);
      await analyzeCaptures({ captureDirs: dirs, out: join(root, `out-${swap}`) });
      results.push(await describe(join(root, `out-${swap}`)));
    }
    assert.ok(results[0]!.edges.length > 0, 'the analysis linked nothing at all');
    assert.deepEqual(results[1]!.edges, results[0]!.edges);
    for (const r of results) for (const base of BASES) assert.ok(!r.ids.includes(base), `trace id ${base} leaked into spans`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
