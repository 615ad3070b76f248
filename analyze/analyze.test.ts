import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCaptures } from './analyze.js';
import { DuckDbEngine } from './engine/duckdb.js';
import { SyntheticCapture, type Endpoint } from '../testing/syntheticCapture.js';

const ms = 1_000_000n;
const T0 = 1_764_230_000_000_000_000n;

/**
 * driver -> frontend (node a); frontend's handler thread calls catalog (thread evidence); frontend hands the auth
 * call to a pool thread that carries the inbound X-Request-ID (content evidence); auth runs on node b whose clock
 * is 5 s ahead (estimated from the matched calls and corrected).
 */
async function scenario(root: string): Promise<string[]> {
  const cap = new SyntheticCapture();
  const ep = (node: string, pid: number, comm: string, addr: string, port: number): Endpoint => ({ node, pid, comm, addr, port });
  const driver = ep('a', 50, 'driver', '10.0.0.1', 40000);
  const front = ep('a', 100, 'python3', '10.0.0.1', 8000);
  const frontOut1 = ep('a', 100, 'python3', '10.0.0.1', 40001);
  const frontOut2 = ep('a', 100, 'python3', '10.0.0.1', 40002);
  const catalog = ep('a', 200, 'catalog', '10.0.0.1', 8001);
  const auth = ep('b', 300, 'auth', '10.0.0.2', 8002);
  cap.skew.set('b', 5000n * ms);
  const c1 = cap.connect(driver, front);
  const c2 = cap.connect(frontOut1, catalog);
  const c3 = cap.connect(frontOut2, auth);
  for (let i = 0n; i < 2n; i++) {
    const t = T0 + i * 100n * ms;
    const rid = `rid-${i}`;
    // Inner calls first in time order of their own messages; the builder does not need global order.
    cap.http(c1, { t, tResp: t + 50n * ms, clientTid: 50, serverTid: 101, path: `/page/${i}`, headers: { 'X-Request-ID': rid } });
    cap.http(c2, { t: t + 5n * ms, tResp: t + 10n * ms, clientTid: 101, serverTid: 201, path: '/items' });
    cap.http(c3, { t: t + 15n * ms, tResp: t + 20n * ms, clientTid: 102, serverTid: 301, path: '/check', headers: { 'X-Request-ID': rid } });
  }
  return cap.write(root, ['a', 'b'], [{ node: 'a', pid: 100, comm: 'python3', cmdline: 'python3 service.py --name frontend' }]);
}

test('analyze: synthetic two-node capture -> exact traces with explained edges', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-analyze-'));
  try {
    const dirs = await scenario(root);
    const summary = await analyzeCaptures({ captureDirs: dirs, out: join(root, 'out') });
    assert.equal(summary.spans, 12);
    assert.equal(summary.traces, 2);
    if (process.platform === 'linux') {
      // Each step's own peak (VmHWM reset at its start) and the run's peak over all of them.
      const peaks = summary.peak_rss_bytes;
      assert.ok(peaks.parse! > 0 && peaks.export! > 0, JSON.stringify(peaks));
      assert.equal(peaks.total, Math.max(...Object.values(peaks)));
    }
    const b = summary.clocks.find((c) => c.node === 'b')!;
    assert.equal(b.method, 'estimated');
    assert.ok(Math.abs(Number(BigInt(b.offset_ns) - 5000n * ms)) < 2e6, `offset ${b.offset_ns}`);
    const e = await DuckDbEngine.open();
    try {
      const edges = await e.query<{ parent: string; child: string; evidence: string }>(`
        SELECT p.kind || ':' || coalesce(p.path, '') AS parent, c.kind || ':' || coalesce(c.path, '') AS child, ed.evidence
        FROM read_parquet('${join(root, 'out', 'edges.parquet')}') ed
        JOIN read_parquet('${join(root, 'out', 'spans.parquet')}') p ON p.span_id = ed.parent_span_id
        JOIN read_parquet('${join(root, 'out', 'spans.parquet')}') c ON c.span_id = ed.child_span_id
        ORDER BY c.start_ns`);
      const got = edges.map((x) => `${x.parent} -> ${x.child} (${x.evidence})`);
      assert.deepEqual(got, [
        'client:/page/0 -> server:/page/0 (spatial)',
        'server:/page/0 -> client:/items (thread)',
        'client:/items -> server:/items (spatial)',
        'server:/page/0 -> client:/check (content:x-request-id)',
        'client:/check -> server:/check (spatial)',
        'client:/page/1 -> server:/page/1 (spatial)',
        'server:/page/1 -> client:/items (thread)',
        'client:/items -> server:/items (spatial)',
        'server:/page/1 -> client:/check (content:x-request-id)',
        'client:/check -> server:/check (spatial)',
      ]);
      // Corrected times: auth's server span lies inside its client span.
      const [skewed] = await e.query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet('${join(root, 'out', 'spans.parquet')}') s
        JOIN read_parquet('${join(root, 'out', 'edges.parquet')}') ed ON ed.child_span_id = s.span_id
        JOIN read_parquet('${join(root, 'out', 'spans.parquet')}') p ON p.span_id = ed.parent_span_id
        WHERE s.node = 'b' AND (s.start_ns < p.start_ns OR s.end_ns > p.end_ns)`);
      assert.equal(skewed!.n, 0n);
    } finally {
      e.close();
    }
    const otlp = JSON.parse(readFileSync(join(root, 'out', 'otlp.json'), 'utf8'));
    const spans = otlp.resourceSpans.flatMap((r: { scopeSpans: { spans: unknown[] }[] }) => r.scopeSpans[0]!.spans);
    assert.equal(spans.length, 12);
    assert.ok(otlp.resourceSpans.some((r: { resource: { attributes: { value: { stringValue: string } }[] } }) => r.resource.attributes[0]!.value.stringValue === 'frontend'));
    const jaeger = JSON.parse(readFileSync(join(root, 'out', 'jaeger.json'), 'utf8'));
    assert.equal(jaeger.data.length, 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
