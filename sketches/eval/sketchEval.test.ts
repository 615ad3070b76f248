import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DuckDbEngine } from '../../analyze/engine/duckdb.js';
import { packageRoot } from '../../core/version.js';
import { readSketches } from '../sketchStore.js';
import { mergeSketches } from '../decodeSketch.js';
import { runSketchEval } from './sketchEval.js';
import { writeSyntheticAnalysis } from '../../testing/syntheticAnalysis.js';
import { clickhouseServerBinary, startClickHouseServer } from '../../testing/clickhouseServer.js';

function hasClickHouse(): boolean {
  try {
    clickhouseServerBinary();
    return true;
  } catch {
    return false;
  }
}

test('sketch-eval on a synthetic analysis output: every sketch within its bound, files written, sketches re-merge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace sketch eval '));
  try {
    const made = await writeSyntheticAnalysis(dir);
    assert.ok(made.spans > 1000);
    const out = join(dir, 'eval');
    const result = await runSketchEval(dir, { outDir: out, progress: false });
    assert.deepEqual(result.verdicts.map((v) => v.sketch).sort(), ['countmin', 'ddsketch', 'hyperloglog', 'spacesaving', 'traceshapes']);
    for (const v of result.verdicts) assert.ok(v.passes, `${v.sketch}: ${v.within}/${v.queries} within bound`);
    for (const r of result.rows) {
      for (const k of ['sketch', 'params', 'bytes', 'error', 'bound', 'within_bound'] as const) assert.ok(k in r, `row lacks ${k}`);
      // Deterministic bounds and exactly mergeable sketches: no violation, merged answers equal single-pass ones.
      if (r.allowed_violation_share === 0) assert.equal(r.within_share, 1, `${r.sketch} ${JSON.stringify(r.params)} ${r.query_set}: ${r.violations.join('; ')}`);
      if (r.merged && ['ddsketch', 'hyperloglog', 'countmin'].includes(r.sketch)) assert.equal(r.same_as_single, true, `${r.sketch} merged != single`);
    }
    assert.ok(result.rows.some((r) => r.source === 'duckdb' && r.sketch === 'approx_quantile'));
    const files = readdirSync(out);
    for (const f of ['sketch-eval.json', 'sketch-eval.md', 'sketches.parquet']) assert.ok(files.includes(f), f);
    assert.ok(files.filter((f) => f.endsWith('.png')).length >= 8, files.join(' '));
    assert.ok(!files.some((f) => f.includes('.tmp')), 'no temporary files left');

    // The stored part sketches merge back into the stored 'all' sketch (HyperLogLog: register-exact).
    const engine = await DuckDbEngine.open();
    try {
      const stored = (await readSketches(engine, join(out, 'sketches.parquet'))).filter((s) => s.kind === 'hyperloglog' && s.key === 'all traces');
      const all = stored.find((s) => s.part === 'all')!;
      const parts = stored.filter((s) => s.part !== 'all');
      assert.ok(parts.length >= 4, `${parts.length} parts`);
      const merged = parts[0]!.sketch;
      for (const p of parts.slice(1)) mergeSketches(merged, p.sketch);
      assert.deepEqual(merged.sketch.encode(), all.sketch.sketch.encode());
    } finally {
      engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nitrace sketch-eval: --json rows; bad input names the file and exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-sketch-eval-'));
  try {
    const cli = join(packageRoot, 'bin', 'nitrace.js');
    const missing = spawnSync(process.execPath, [cli, 'sketch-eval', join(dir, 'nope')], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nitrace sketch-eval: .*nope\/spans\.parquet not found \(is .* the output of nitrace analyze\?\)/);

    await writeSyntheticAnalysis(dir, 150);
    const engine = await DuckDbEngine.open();
    await engine.exec(`COPY (SELECT * EXCLUDE (service) FROM read_parquet('${join(dir, 'spans.parquet')}')) TO '${join(dir, 'old.parquet')}' (FORMAT parquet)`);
    engine.close();
    const old = join(dir, 'old');
    spawnSync('mkdir', [old]);
    spawnSync('mv', [join(dir, 'old.parquet'), join(old, 'spans.parquet')]);
    spawnSync('cp', [join(dir, 'edges.parquet'), join(old, 'edges.parquet')]);
    const lacking = spawnSync(process.execPath, [cli, 'sketch-eval', old], { encoding: 'utf8' });
    assert.equal(lacking.status, 2);
    assert.match(lacking.stderr, /spans\.parquet lacks column\(s\) service/);
    assert.ok(!existsSync(join(old, 'sketch-eval')), 'nothing written on bad input');

    const ok = spawnSync(process.execPath, [cli, 'sketch-eval', dir, '--json', '--quiet', '--out', join(dir, 'o')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(ok.status, 0, ok.stderr);
    const rows = JSON.parse(ok.stdout) as Record<string, unknown>[];
    assert.ok(Array.isArray(rows) && rows.length > 50);
    for (const k of ['sketch', 'params', 'bytes', 'error', 'bound', 'within_bound']) assert.ok(k in rows[0]!, k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--clickhouse URL: ClickHouse's quantileTDigest, uniqHLL12 and topK answer the same questions (real clickhouse-server)", {
  skip: hasClickHouse() ? false : 'clickhouse-server not installed (scripts/setup-clickhouse.sh; make test installs it)',
  timeout: 600_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-sketch-eval-ch-'));
  const server = await startClickHouseServer();
  try {
    await writeSyntheticAnalysis(dir, 200);
    const cli = join(packageRoot, 'bin', 'nitrace.js');
    const r = spawnSync(process.execPath, [cli, 'sketch-eval', dir, '--json', '--quiet', '--clickhouse', server.url], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr + server.errorLog());
    const rows = JSON.parse(r.stdout) as { sketch: string; source: string; queries: number; error: number }[];
    const ch = rows.filter((x) => x.source === 'clickhouse');
    assert.deepEqual([...new Set(ch.map((x) => x.sketch))].sort(), ['quantileTDigest', 'topK', 'uniqHLL12']);
    for (const x of ch) assert.ok(x.queries > 0 && Number.isFinite(x.error), JSON.stringify(x));
    // Small distinct counts are exact in uniqHLL12 (it keeps a small exact set first), so its error is small here.
    assert.ok(ch.find((x) => x.sketch === 'uniqHLL12')!.error < 0.1);
    assert.deepEqual(await server.query('SELECT name FROM system.tables WHERE name LIKE \'nitrace_%_items\''), [], 'temporary tables dropped');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
