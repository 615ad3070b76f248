/**
 * The generator's output is a valid capture set that analyzes like the samples it replays: a small set (the first
 * seconds of both shipped samples, 4 replicas in 2 lanes) is checked file by file against the capture format, then
 * analyzed with `nitrace analyze` (the CLI, as the benchmark runs it) and compared, replica by replica, with the
 * analysis of the same seconds of the original samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { packageRoot } from '../../core/version.js';
import { DEFAULT_SAMPLES, generateCaptureSet, type CaptureSet } from './captureSet.js';
import { ID_MACROS, idTemplate } from './idTemplate.js';
import { analysisCounts, replicaStats } from './replicaStats.js';

const NITRACE = join(packageRoot, 'bin', 'nitrace.js');
const SLICE_S = 8;
const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

async function withDb<T>(f: (db: DuckDBConnection) => Promise<T>): Promise<T> {
  const inst = await DuckDBInstance.create(':memory:');
  const db = await inst.connect();
  try {
    return await f(db);
  } finally {
    db.closeSync();
    inst.closeSync();
  }
}

async function one<T>(db: DuckDBConnection, sql: string): Promise<T> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS()[0] as T;
}

function analyze(dirs: string[], out: string): void {
  const r = spawnSync(process.execPath, [NITRACE, 'analyze', ...dirs, '--out', out, '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `nitrace analyze failed: ${r.stderr}`);
}

/** The first SLICE_S seconds of a sample's capture, unchanged: the reference its replicas are compared with. */
async function sliceOfSample(sample: string, dir: string): Promise<void> {
  const cap = join(sample, 'capture');
  mkdirSync(join(dir, 'events'), { recursive: true });
  const segs = `[${readdirSync(join(cap, 'events')).filter((f) => f.endsWith('.parquet')).map((f) => lit(join(cap, 'events', f))).join(', ')}]`;
  await withDb((db) =>
    db.run(`COPY (SELECT * FROM read_parquet(${segs}) WHERE ts_ns < (SELECT min(ts_ns) FROM read_parquet(${segs})) + ${SLICE_S * 1e9}
      ORDER BY mono_ns) TO ${lit(join(dir, 'events', 'seg-000001.parquet'))} (FORMAT parquet, COMPRESSION zstd)`),
  );
  copyFileSync(join(cap, 'manifest.json'), join(dir, 'manifest.json'));
  copyFileSync(join(cap, 'processes.parquet'), join(dir, 'processes.parquet'));
}

test('idTemplate: finds UUIDs and 32-hex ids, not longer hex runs', () => {
  const text = 'x-openstack-request-id: req-0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d\r\n"_msg_id": "00112233445566778899aabbccddeeff", sha: '.concat('ab'.repeat(32));
  const t = idTemplate(Buffer.from(text))!;
  assert.deepEqual(t.toks.split(','), ['0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d', '00112233445566778899aabbccddeeff']);
  assert.equal(t.parts.split('|').length, 3);
  assert.equal(idTemplate(Buffer.from('no ids here')), null);
});

test('bench_id: same length and case, UUID version kept, dashed and plain forms agree, fresh per replica', async () => {
  await withDb(async (db) => {
    for (const m of ID_MACROS) await db.run(m);
    const r = await one<Record<string, string>>(db, `SELECT bench_id(1, '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d') AS d, bench_id(1, '0a1b2c3d4e5f4a6b8c7d8e9f0a1b2c3d') AS p,
      bench_id(2, '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d') AS d2, bench_id(1, '0A1B2C3D-4E5F-4A6B-8C7D-8E9F0A1B2C3D') AS u,
      decode(bench_rewrite(1, ${lit(idTemplate(Buffer.from('id=0a1b2c3d4e5f4a6b8c7d8e9f0a1b2c3d;'))!.parts)}, '0a1b2c3d4e5f4a6b8c7d8e9f0a1b2c3d')) AS rw`);
    assert.match(r.d!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(r.d!.replaceAll('-', ''), r.p);
    assert.notEqual(r.d, r.d2);
    assert.equal(r.u, r.d!.toUpperCase());
    assert.equal(r.rw, `id=${r.p};`);
  });
});

test('generated capture set: valid captures, and every replica analyzes like its sample', { timeout: 30 * 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace bench-'));
  try {
    const set: CaptureSet = await generateCaptureSet({ replicas: 4, lanes: 2, layout: 'single', sliceS: SLICE_S, root });
    assert.equal(set.replicas.length, 4);
    assert.deepEqual(set.replicas.map((r) => [r.sample, r.lane, r.k]), [
      ['tempest-identity-image', 0, 0],
      ['tempest-compute-servers', 1, 0],
      ['tempest-compute-servers', 0, 1],
      ['tempest-identity-image', 1, 1],
    ]);
    // Cached: the same parameters give the same set without generating again.
    assert.equal((await generateCaptureSet({ replicas: 4, lanes: 2, layout: 'single', sliceS: SLICE_S, root })).generation_ms, set.generation_ms);

    // Every node directory is a capture: manifest facts match the segment files; rows sorted by mono_ns.
    let events = 0;
    await withDb(async (db) => {
      for (const dir of set.node_dirs) {
        const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { format: string; schema_version: number; node: string; status: string; segments: { file: string; rows: number; sha256: string }[]; events: { written: number } };
        assert.equal(m.format, 'nitrace-capture');
        assert.equal(m.status, 'complete');
        const files = readdirSync(join(dir, 'events')).sort();
        assert.deepEqual(files, m.segments.map((s) => s.file.replace('events/', '')));
        for (const s of m.segments) {
          const f = join(dir, s.file);
          assert.equal(createHash('sha256').update(readFileSync(f)).digest('hex'), s.sha256);
          const c = await one<{ n: bigint; nodes: bigint; unsorted: bigint }>(db, `SELECT count(*) AS n, count(DISTINCT node) AS nodes,
            count(*) FILTER (WHERE mono_ns < prev) AS unsorted FROM (SELECT node, mono_ns, lag(mono_ns) OVER (ORDER BY file_row_number) AS prev
            FROM read_parquet(${lit(f)}, file_row_number = true))`);
          assert.equal(Number(c.n), s.rows);
          assert.equal(Number(c.nodes), 1);
          assert.equal(Number(c.unsorted), 0, `${f}: rows not in mono_ns order`);
        }
        assert.equal(m.events.written, m.segments.reduce((a, s) => a + s.rows, 0));
        events += m.events.written;
        const p = await one<{ n: bigint; other: bigint }>(db, `SELECT count(*) AS n, count(*) FILTER (WHERE node <> ${lit(m.node)}) AS other FROM read_parquet(${lit(join(dir, 'processes.parquet'))})`);
        assert.ok(Number(p.n) > 0);
        assert.equal(Number(p.other), 0);
      }
      assert.equal(events, set.events);
      // Connection ids never repeat across replicas: one per (replica, socket) of the sample.
      const segs = set.node_dirs.map((d) => lit(join(d, 'events', '*.parquet'))).join(', ');
      const c = await one<{ n: bigint }>(db, `SELECT count(DISTINCT (node, conn_id)) AS n FROM read_parquet([${segs}])`);
      let expected = 0;
      for (const r of set.replicas) {
        const s = DEFAULT_SAMPLES.find((d) => d.endsWith(r.sample))!;
        const x = await one<{ n: bigint }>(db, `SELECT count(DISTINCT conn_id) AS n FROM read_parquet(${lit(join(s, 'capture', 'events', '*.parquet'))})
          WHERE ts_ns < (SELECT min(ts_ns) FROM read_parquet(${lit(join(s, 'capture', 'events', '*.parquet'))})) + ${SLICE_S * 1e9}`);
        expected += Number(x.n);
      }
      assert.equal(Number(c.n), expected);
    });

    // Analyze the set and the original slices; compare per replica.
    const out = join(root, 'out');
    analyze(set.node_dirs, out);
    const stats = await replicaStats(out, set);
    assert.equal(stats.unattributed_spans, 0);
    const reference = new Map<string, Awaited<ReturnType<typeof analysisCounts>>>();
    for (const s of DEFAULT_SAMPLES) {
      const name = s.split('/').pop()!;
      await sliceOfSample(s, join(root, `orig-${name}`));
      analyze([join(root, `orig-${name}`)], join(root, `orig-${name}-out`));
      reference.set(name, await analysisCounts(join(root, `orig-${name}-out`)));
    }
    for (const r of stats.replicas) {
      const ref = reference.get(r.sample)!;
      const x = set.replicas[r.r]!;
      // Parsing is per connection: every replica has exactly its sample's spans, and spatial matching (sequence
      // numbers and 4-tuples, rewritten consistently on both sides) finds every one of its edges.
      assert.equal(r.spans, ref.spans, `replica ${r.r} (${r.sample}): spans`);
      assert.equal(r.edges_by_evidence.spatial, ref.edges_by_evidence.spatial, `replica ${r.r} (${r.sample}): spatial edges`);
      // The first run of each lane has nothing before it on its processes: every edge as in the sample. (Later runs
      // reuse the daemons' pids, where today's analyze lets a request left open by the previous run claim calls.)
      if (x.k === 0) assert.deepEqual(r.edges_by_evidence, ref.edges_by_evidence, `replica ${r.r} (${r.sample}): edges by evidence`);
    }
    // Ids, ports and sequence numbers were made fresh per replica: no content or spatial link joins two replicas.
    for (const [evidence, n] of Object.entries(stats.cross_replica_edges_by_evidence)) {
      assert.ok(!evidence.startsWith('content') && evidence !== 'spatial', `${n} ${evidence} edges join two replicas`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
