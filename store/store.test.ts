/**
 * `nitrace store` into real ClickHouse servers started here (Debian's clickhouse-server 18.16, loopback, temporary
 * data dirs): one server, then two servers as a 2-shard cluster behind Distributed tables. Checked against
 * DuckDB reading the same Parquet files: every event (payload by MD5) and span, the counts, and the per-edge
 * latency quantiles a researcher would ask for.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyzeCaptures } from '../analyze/analyze.js';
import { packageRoot } from '../core/version.js';
import { startClickHouseCluster, startClickHouseServer, type ClickHouseCluster, type ClickHouseServer } from '../testing/clickhouseServer.js';
import { nitrace } from '../testing/liveTestHelpers.js';
import {
  clickhouseEdgeLatency,
  clickhouseEventLines,
  clickhouseSpanLines,
  duckdbCounts,
  duckdbEdgeLatency,
  duckdbEventLines,
  duckdbSpanLines,
} from '../testing/storeReference.js';

const SAMPLE = join(packageRoot, 'datasets', 'samples', 'tempest-compute-servers');
const CAPTURE = join(SAMPLE, 'capture');
let work: string;
let out: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'nitrace-store-test-'));
  out = join(work, 'out');
  await analyzeCaptures({ captureDirs: [CAPTURE], out });
  const score = await nitrace(['score', out, '--truth', SAMPLE, '--json', '--baseline', 'fcfs']);
  assert.equal(score.code, 0, score.stderr);
  writeFileSync(join(out, 'score.json'), score.stdout);
});

after(() => rmSync(work, { recursive: true, force: true }));

/** `nitrace store` as a user runs it; stdout lines are `dataset_id kind status dir [table=rows ...]`. */
async function store(args: string[]): Promise<{ code: number; stderr: string; lines: string[][] }> {
  const r = await nitrace(['store', ...args], { timeoutMs: 600_000 });
  return { code: r.code, stderr: r.stderr, lines: r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t')) };
}

async function count(server: ClickHouseServer, table: string, id: string): Promise<number> {
  const [r] = await server.query<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE dataset_id = '${id}'`);
  return Number(r!.n);
}

/** Everything a store must hold for the capture and its analysis, asked of `server` (a plain or Distributed db). */
async function assertStoreMatches(server: ClickHouseServer, db: string, captureId: string, analysisId: string): Promise<void> {
  const want = await duckdbCounts(CAPTURE, out);
  assert.equal(await count(server, `${db}.events`, captureId), want.events);
  assert.equal(await count(server, `${db}.spans`, analysisId), want.spans);
  assert.equal(await count(server, `${db}.edges`, analysisId), want.edges);
  assert.equal(await count(server, `${db}.traces`, analysisId), want.traces);
  assert.equal(await count(server, `${db}.processes`, captureId) > 0, true);
  assert.deepEqual(await clickhouseEdgeLatency(server, db, analysisId), await duckdbEdgeLatency(out));
  const [score] = await server.query<{ edge_f1: number }>(
    `SELECT edge_f1 FROM ${db}.scores WHERE dataset_id = '${analysisId}' AND scorer = 'nitrace' AND scope = 'all'`,
  );
  assert.equal(score!.edge_f1, (JSON.parse(readFileSync(join(out, 'score.json'), 'utf8')) as { edge_f1: number }).edge_f1);
  const [link] = await server.query<{ captures: string[] }>(`SELECT captures FROM ${db}.datasets WHERE dataset_id = '${analysisId}'`);
  assert.deepEqual(link!.captures, [captureId], 'the analysis names the capture it analysed');
}

/**
 * Every SQL block of docs/clickhouse.md, with the placeholders filled from what is stored: each runs and (but
 * the scores one, which needs no rows) returns rows. `settings` lets a cluster run the IN-subqueries globally.
 */
async function runDocQueries(server: ClickHouseServer, captureId: string, analysisId: string, settings = ''): Promise<number> {
  const doc = readFileSync(join(packageRoot, 'docs', 'clickhouse.md'), 'utf8');
  const [span] = await server.query<{ span_id: string }>(
    `SELECT span_id FROM nitrace.spans WHERE dataset_id = '${analysisId}' AND protocol = 'http' AND kind = 'client' ORDER BY span_id LIMIT 1`,
  );
  const [rid] = await server.query<{ id: string }>(
    `SELECT request_ids[1] AS id FROM nitrace.spans WHERE dataset_id = '${analysisId}' AND length(request_ids) > 0 ORDER BY span_id LIMIT 1`,
  );
  const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  let ran = 0;
  for (const block of blocks) {
    for (const stmt of block.split(/;\s*\n/).map((x) => x.trim().replace(/;$/, '')).filter(Boolean)) {
      const sql = stmt
        .replaceAll("'A'", `'${analysisId}'`)
        .replaceAll("'C'", `'${captureId}'`)
        .replaceAll("'aa2b0b990930e36c'", `'${span!.span_id}'`)
        .replaceAll("'req-e44827c8-9538-44fc-baf5-deb325942515'", `'${rid!.id}'`)
        .replace(/\bFROM (datasets|manifests|events|processes|spans|edges|traces|scores)\b/g, 'FROM nitrace.$1');
      const rows = await server.query(`${sql}${settings}`);
      assert.ok(rows.length > 0, `no rows from docs/clickhouse.md query:\n${sql}`);
      ran++;
    }
  }
  return ran;
}

describe('nitrace store: one ClickHouse server', () => {
  let server: ClickHouseServer;
  before(async () => {
    server = await startClickHouseServer();
  });
  after(async () => server?.stop());

  test('stores a capture and its analysis; every event and span arrives unchanged; counts and edge latency quantiles equal DuckDB', async () => {
    const r = await store([CAPTURE, out, '--clickhouse-url', server.url]);
    assert.equal(r.code, 0, r.stderr);
    const [cap, ana] = r.lines;
    assert.deepEqual([cap![1], cap![2], ana![1], ana![2]], ['capture', 'stored', 'analysis', 'stored']);
    assert.match(r.stderr, /events \d+\/\d+ rows|stored 1 manifests/);
    await assertStoreMatches(server, 'nitrace', cap![0]!, ana![0]!);
    assert.deepEqual(await clickhouseEventLines(server, 'nitrace', cap![0]!), await duckdbEventLines(CAPTURE));
    assert.deepEqual(await clickhouseSpanLines(server, 'nitrace', ana![0]!), await duckdbSpanLines(out));
    assert.ok((await runDocQueries(server, cap![0]!, ana![0]!)) >= 10);
  });

  test('is idempotent: a second run stores nothing again, an interrupted earlier run is cleaned up', async () => {
    const again = await store([CAPTURE, out, '--clickhouse-url', server.url]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.lines.map((l) => l[2]), ['already stored', 'already stored']);
    const [cap, ana] = again.lines;
    const want = await duckdbCounts(CAPTURE, out);
    assert.equal(await count(server, 'nitrace.events', cap![0]!), want.events);
    // A run killed after the events went in but before its datasets row: the next run must not double them.
    await server.exec(`ALTER TABLE nitrace.datasets DROP PARTITION '${cap![0]}'`);
    assert.equal(await count(server, 'nitrace.datasets', cap![0]!), 0);
    const resumed = await store([CAPTURE, '--clickhouse-url', server.url]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.lines[0]![2], 'stored');
    await assertStoreMatches(server, 'nitrace', cap![0]!, ana![0]!);
    const replaced = await store([out, '--clickhouse-url', server.url, '--replace']);
    assert.equal(replaced.lines[0]![2], 'replaced');
    await assertStoreMatches(server, 'nitrace', cap![0]!, ana![0]!);
  });

  test('refuses a table with another schema, and bad input, before writing anything', async () => {
    await server.exec('CREATE DATABASE IF NOT EXISTS other');
    await server.exec('CREATE TABLE other.spans (dataset_id String, span_id String) ENGINE = MergeTree ORDER BY span_id');
    const r = await store([out, '--clickhouse-url', server.url, '--database', 'other']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /table other\.spans exists with another schema: columns differ \(lacks trace_id String/);
    assert.match(r.stderr, /store into another --database/);
    const [n] = await server.query<{ n: string }>("SELECT count() AS n FROM system.tables WHERE database = 'other'");
    assert.equal(n!.n, '1', 'no table is created when one is refused');

    const notData = join(work, 'not-data');
    mkdirSync(notData, { recursive: true });
    const bad = await store([CAPTURE, notData, '--clickhouse-url', server.url, '--database', 'fresh']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not-data: neither a capture directory \(manifest.json\) nor an analysis output/);
    const [db] = await server.query<{ n: string }>("SELECT count() AS n FROM system.databases WHERE name = 'fresh'");
    assert.equal(db!.n, '0', 'nothing is written when one input is bad');

    const noServer = await store([CAPTURE, '--clickhouse-url', 'http://127.0.0.1:1']);
    assert.equal(noServer.code, 1);
    assert.match(noServer.stderr, /http:\/\/127.0.0.1:1: no ClickHouse server answers/);
  });
});

describe('nitrace store: a 2-shard cluster of ClickHouse servers', () => {
  let cluster: ClickHouseCluster;
  before(async () => {
    cluster = await startClickHouseCluster(2);
  });
  after(async () => cluster?.stop());

  test('spreads the rows over both shards; the Distributed tables answer like DuckDB; re-running adds nothing', async () => {
    const [s1, s2] = cluster.servers as [ClickHouseServer, ClickHouseServer];
    const args = [CAPTURE, out, '--clickhouse-url', s1.url, '--cluster', cluster.name, '--shard-url', s1.url, '--shard-url', s2.url];
    const r = await store(args);
    assert.equal(r.code, 0, r.stderr);
    const [cap, ana] = r.lines;
    for (const s of [s1, s2]) {
      const local = await count(s, 'nitrace.events_local', cap![0]!);
      assert.ok(local > 0, `${s.url} holds part of the events (${local})`);
      assert.ok((await count(s, 'nitrace.spans_local', ana![0]!)) > 0);
    }
    // Any member answers for the whole cluster.
    await assertStoreMatches(s1, 'nitrace', cap![0]!, ana![0]!);
    await assertStoreMatches(s2, 'nitrace', cap![0]!, ana![0]!);
    assert.deepEqual(await clickhouseEventLines(s2, 'nitrace', cap![0]!), await duckdbEventLines(CAPTURE));
    assert.ok((await runDocQueries(s2, cap![0]!, ana![0]!, " SETTINGS distributed_product_mode = 'global'")) >= 10);

    const again = await store(args);
    assert.deepEqual(again.lines.map((l) => l[2]), ['already stored', 'already stored']);
    await assertStoreMatches(s1, 'nitrace', cap![0]!, ana![0]!);
  });

  test('without the members\' HTTP URLs (all on one host here) it says what to give', async () => {
    const [s1] = cluster.servers as [ClickHouseServer];
    const r = await store([out, '--clickhouse-url', s1.url, '--cluster', cluster.name, '--database', 'guess']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give each member's own HTTP URL with --shard-url/);
    const u = await store([out, '--clickhouse-url', s1.url, '--cluster', 'nope']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, new RegExp(`has no cluster "nope" in its remote_servers \\(it has: .*${cluster.name}`));
  });
});
