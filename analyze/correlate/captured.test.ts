import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../core/version.js';
import { analyzeCaptures } from '../analyze.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { sqlString } from '../engine/engine.js';
import { fixtureCaptureDirs } from '../../testing/golden.js';
import { scoreAgainstTruth } from '../../workloads/testapp/groundTruth.js';
import { loadedEngineFromDirs } from '../../testing/loadedEngine.js';
import { applyClocks, clockBounds, estimateClocks } from './clockOffset.js';
import { correlateContent } from './content.js';
import { correlateSpatial } from './spatial.js';
import { correlateOwnership } from './ownership.js';

/**
 * Each correlation step on a real two-node capture of the test app (analyze/fixtures/http-concurrent: 12 requests,
 * 4 at a time; auth in a second network namespace).
 */
const fixture = join(packageRoot, 'analyze', 'fixtures', 'http-concurrent');
const skip = existsSync(fixture) ? false : 'fixture not recorded';
const SKEW_NS = 2_500_000_000n;

test('captured: spatial matches every client side to one server side, across the two nodes', { skip }, async () => {
  const { engine, diag, cleanup } = await loadedEngineFromDirs(fixtureCaptureDirs(fixture));
  try {
    const [k] = await engine.query<{ c: bigint; s: bigint; x: bigint }>(`SELECT count(*) FILTER (WHERE kind = 'client') AS c,
      count(*) FILTER (WHERE kind = 'server') AS s, count(DISTINCT node) AS x FROM spans_raw`);
    assert.equal(k!.x, 2n);
    assert.equal(await correlateSpatial(engine, diag), Number(k!.c));
    assert.equal(k!.c, k!.s);
    const [cross] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM candidates x JOIN spans_raw c ON c.span_id = x.parent
      JOIN spans_raw s ON s.span_id = x.child WHERE c.node <> s.node`);
    assert.equal(cross!.n, 24n); // frontend -> auth and auth -> db, 12 each
  } finally {
    cleanup();
  }
});

test('captured: both namespaces share one kernel clock, and the estimate says so within its bounds', { skip }, async () => {
  const { engine, diag, cleanup } = await loadedEngineFromDirs(fixtureCaptureDirs(fixture));
  try {
    await correlateSpatial(engine, diag);
    const bounds = await clockBounds(engine);
    assert.equal(bounds.length, 2); // host -> ns1 and ns1 -> host calls
    const clocks = estimateClocks(['host', 'ns1'], 'host', bounds, diag);
    const ns1 = clocks[1]!;
    assert.equal(ns1.method, 'estimated');
    // The true offset (0) lies inside the feasible interval, and the estimate is within 1 ms of it.
    assert.ok(Math.abs(Number(ns1.offsetNs)) <= Number(ns1.uncertaintyNs) / 2 + 1000, `offset ${ns1.offsetNs} ± ${ns1.uncertaintyNs}`);
    assert.ok(Math.abs(Number(ns1.offsetNs)) < 1_000_000);
    await applyClocks(engine, clocks);
    assert.equal(diag.warnings.length, 0);
  } finally {
    cleanup();
  }
});

test('captured: the ownership sweep for handler threads and the single-threaded async service, content where ids are forwarded', { skip }, async () => {
  const { engine, cleanup } = await loadedEngineFromDirs(fixtureCaptureDirs(fixture));
  try {
    await correlateOwnership(engine);
    await correlateContent(engine);
    const rows = await engine.query<{ svc: string; evidence: string; n: bigint; rows: bigint; lo: number; hi: number }>(`
      SELECT p.comm AS svc, regexp_replace(x.evidence, ':.*', '') AS evidence, count(DISTINCT x.child) AS n, count(*) AS rows,
             min(x.confidence) AS lo, max(x.confidence) AS hi
      FROM candidates x JOIN spans_raw p ON p.span_id = x.parent GROUP BY ALL ORDER BY svc, evidence`);
    const get = (svc: string, ev: string) => rows.find((r) => r.svc === svc && r.evidence === ev);
    // auth: one inbound request open per handler thread: full thread confidence, one candidate per call.
    assert.deepEqual([get('nt-auth', 'thread')?.n, get('nt-auth', 'thread')?.rows, get('nt-auth', 'thread')?.lo], [12n, 12n, 0.9]);
    // The forwarded request id names one parent per call, in the pool-thread frontend and the async catalog.
    assert.deepEqual([get('nt-frontend', 'content')?.n, get('nt-catalog', 'content')?.n, get('nt-catalog', 'content')?.lo], [24n, 24n, 0.95]);
    // catalog (asyncio): requests overlap on its one thread; the sweep proposes at most one parent per call, never
    // with more confidence than the ids.
    for (const ev of ['thread', 'green']) {
      const r = get('nt-catalog', ev);
      if (r) assert.ok(r.rows === r.n && r.hi <= 0.9, `${ev}: ${r.rows} rows for ${r.n} calls, max ${r.hi}`);
    }
  } finally {
    cleanup();
  }
});

test('captured: a second node whose clock is 2.5 s ahead is estimated, corrected, and the traces stay exact', { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-skew-'));
  try {
    const [host, ns1] = fixtureCaptureDirs(fixture);
    const skewed = join(root, 'ns1');
    cpSync(ns1!, skewed, { recursive: true });
    const e = await DuckDbEngine.open();
    try {
      for (const f of readdirSync(join(skewed, 'events'))) {
        const file = join(skewed, 'events', f);
        await e.exec(`COPY (SELECT * REPLACE (ts_ns + ${SKEW_NS} AS ts_ns) FROM read_parquet(${sqlString(file)})) TO ${sqlString(file + '.tmp')} (FORMAT parquet)`);
        renameSync(file + '.tmp', file);
      }
    } finally {
      e.close();
    }
    const out = join(root, 'out');
    const summary = await analyzeCaptures({ captureDirs: [host!, skewed], out });
    const clock = summary.clocks.find((c) => c.node === 'ns1')!;
    assert.equal(clock.method, 'estimated');
    assert.ok(Math.abs(Number(BigInt(clock.offset_ns) - SKEW_NS)) < 1_000_000, `offset ${clock.offset_ns}`);
    assert.deepEqual(summary.warnings, []);
    const score = await scoreAgainstTruth(out, join(fixture, 'truth.jsonl'));
    assert.deepEqual({ missing: score.missing, extra: score.extra }, { missing: [], extra: [] });
    // On the corrected clock every server side lies inside its client side (1 ms slack), across the nodes too.
    const check = await DuckDbEngine.open();
    try {
      const spans = sqlString(join(out, 'spans.parquet'));
      const [r] = await check.query<{ cross: bigint; bad: bigint }>(`SELECT count(*) FILTER (WHERE c.node <> s.node) AS cross,
          count(*) FILTER (WHERE s.start_ns < c.start_ns - 1000000 OR s.end_ns > c.end_ns + 1000000) AS bad
        FROM read_parquet(${sqlString(join(out, 'edges.parquet'))}) x JOIN read_parquet(${spans}) c ON c.span_id = x.parent_span_id
        JOIN read_parquet(${spans}) s ON s.span_id = x.child_span_id WHERE x.evidence = 'spatial'`);
      assert.equal(r!.cross, 24n);
      assert.equal(r!.bad, 0n);
    } finally {
      check.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
