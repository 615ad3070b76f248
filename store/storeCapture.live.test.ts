/**
 * A capture made here by `nitrace capture` (current capture schema, with green-thread columns) and its analysis,
 * stored into a real ClickHouse server: every event arrives unchanged (gid and parent_gid included), and the
 * counts and per-edge latencies equal DuckDB's. Needs root (eBPF), as every live capture test.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startClickHouseServer } from '../testing/clickhouseServer.js';
import { HTTP_PAIR, isRoot, nitrace, PYTHON, startHttpServer } from '../testing/liveTestHelpers.js';
import { clickhouseEdgeLatency, clickhouseEventLines, duckdbCounts, duckdbEdgeLatency, duckdbEventLines } from '../testing/storeReference.js';

test('a live capture (current schema) and its analysis are stored unchanged', { skip: isRoot ? false : 'needs root (eBPF capture)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-store-live-'));
  const server = await startClickHouseServer();
  const http = await startHttpServer();
  try {
    const cap = join(dir, 'cap');
    const c = await nitrace(['capture', '--out', cap, '--port', String(http.port), '--', PYTHON, HTTP_PAIR, 'client', '--port', String(http.port), '--log', join(dir, 'client.json')]);
    assert.equal(c.code, 0, c.stderr);
    const manifest = JSON.parse(readFileSync(join(cap, 'manifest.json'), 'utf8')) as { schema_version: number };
    const out = join(dir, 'out');
    const a = await nitrace(['analyze', cap, '--out', out, '-q']);
    assert.equal(a.code, 0, a.stderr);
    const r = await nitrace(['store', cap, out, '--clickhouse-url', server.url, '-q']);
    assert.equal(r.code, 0, r.stderr);
    const [capId, outId] = r.stdout.trim().split('\n').map((l) => l.split('\t')[0]!);
    const [m] = await server.query<{ schema_version: number }>(`SELECT schema_version FROM nitrace.manifests WHERE dataset_id = '${capId}'`);
    assert.equal(m!.schema_version, manifest.schema_version);
    const events = await clickhouseEventLines(server, 'nitrace', capId!);
    assert.ok(events.length > 10, `events stored: ${events.length}`);
    assert.deepEqual(events, await duckdbEventLines(cap));
    const want = await duckdbCounts(cap, out);
    const [n] = await server.query<{ s: string; e: string }>(
      `SELECT (SELECT count() FROM nitrace.spans WHERE dataset_id = '${outId}') AS s, (SELECT count() FROM nitrace.edges WHERE dataset_id = '${outId}') AS e`,
    );
    assert.deepEqual([Number(n!.s), Number(n!.e)], [want.spans, want.edges]);
    assert.deepEqual(await clickhouseEdgeLatency(server, 'nitrace', outId!), await duckdbEdgeLatency(out));
  } finally {
    http.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
