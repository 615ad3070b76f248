/**
 * nitrace report on the shipped compute-servers sample: every figure exists and decodes as PNG, every number in
 * the Markdown tables equals report.json, and the accuracy numbers equal what `nitrace score --json` prints.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { analyzeCaptures } from '../analyze/analyze.js';
import { packageRoot } from '../core/version.js';
import type { ScoreReport } from '../datasets/score/score.js';
import { fmtMs, parseTables, pct } from './markdown.js';
import { writeReport, type ReportData } from './writeReport.js';

const SAMPLE = join(packageRoot, 'datasets', 'samples', 'tempest-compute-servers');
const CLI = join(packageRoot, 'bin', 'nitrace.js');

/** The single table under a `## ` heading whose first header cell is `first`. */
function tableOf(tables: Map<string, string[][][]>, section: string, first: string): string[][] {
  const key = [...tables.keys()].find((k) => k.startsWith(section));
  assert.ok(key, `no section '${section}' (have: ${[...tables.keys()].join(', ')})`);
  const t = tables.get(key)!.find((x) => x[0]![0] === first);
  assert.ok(t, `section '${section}': no table starting with column '${first}'`);
  return t.slice(1);
}

test('report on the compute-servers sample: every figure, numbers equal report.json and nitrace score --json', { skip: !existsSync(SAMPLE) && 'sample not shipped' }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace report-'));
  try {
    const out = join(root, 'analysis');
    await analyzeCaptures({ captureDirs: [join(SAMPLE, 'capture')], out });
    // Result files: the kept capture benchmark, and a sketch evaluation in the shape `nitrace sketch-eval` writes.
    const results = join(root, 'results');
    mkdirSync(results);
    const bench = readdirSync(join(packageRoot, 'bench', 'results')).filter((f) => /^capture-.*\.json$/.test(f)).sort().pop();
    if (bench) copyFileSync(join(packageRoot, 'bench', 'results', bench), join(results, bench));
    writeFileSync(
      join(results, 'sketch-eval-test-2026-01-01T00-00-00.000Z.json'),
      JSON.stringify({ dataset: 'test', rows: [128, 512, 2048].flatMap((bytes, i) => [{ sketch: 'ddsketch', source: 'nitrace', query_set: 'latency', params: { alpha: 0.01 * (3 - i) }, bytes, error: 0.05 / (i + 1), error_median: 0.01, metric: 'relative' }]) }),
    );
    const { markdown, data } = await writeReport({ out, truth: SAMPLE, resultsDir: results });
    const dir = join(out, 'report');
    assert.equal(markdown, join(dir, 'report.md'));
    const md = readFileSync(markdown, 'utf8');
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportData;
    assert.deepEqual(json, JSON.parse(JSON.stringify(data)));

    // Figures: the map, one waterfall per request type, latency, accuracy, overhead, sketch; all decode.
    const names = json.figures.map((f) => f.file);
    for (const want of ['dependency-map', 'latency', 'accuracy', 'overhead', 'sketch-error-memory', 'waterfall-1']) {
      assert.ok(names.includes(`figures/${want}.png`), `figure ${want} missing from ${names.join(', ')}`);
    }
    assert.ok(json.request_types.length >= 3, 'expected several request types');
    for (const t of json.request_types) assert.ok(names.includes(t.figure));
    const linked = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    assert.deepEqual([...linked].sort(), [...names].sort(), 'report.md links exactly the figures of report.json');
    for (const f of names) {
      const png = PNG.sync.read(readFileSync(join(dir, f)));
      assert.ok(png.width > 200 && png.height > 100, `${f}: ${png.width}x${png.height}`);
    }

    const tables = parseTables(md);
    // Dependency table: first rows of report.json's dependencies, numbers formatted the same.
    const deps = tableOf(tables, 'Service dependency map', 'caller');
    assert.ok(deps.length > 5);
    deps.forEach((row, i) => {
      const d = json.dependencies[i]!;
      assert.deepEqual(row, [d.caller, d.callee, d.protocol, String(d.calls), fmtMs(d.p50_ms), fmtMs(d.p95_ms), String(d.errors)]);
    });
    assert.ok(json.dependencies.some((d) => d.caller === 'stestr.subunit_runner.run' && d.callee === 'nova-api-wsgi' && d.protocol === 'http'));
    // Calls add up to the client spans of the analysis.
    assert.equal(json.dependencies.reduce((n, d) => n + d.calls, 0), json.analysis.client_spans);

    const ops = tableOf(tables, 'Latency per operation', 'service');
    assert.equal(ops.length, json.operations.length);
    ops.forEach((row, i) => {
      const o = json.operations[i]!;
      assert.deepEqual(row, [o.service, o.operation, String(o.count), fmtMs(o.p50_ms), fmtMs(o.p95_ms), fmtMs(o.p99_ms), fmtMs(o.max_ms)]);
      assert.ok(o.p05_ms <= o.p25_ms && o.p25_ms <= o.p50_ms && o.p50_ms <= o.p75_ms && o.p75_ms <= o.p95_ms && o.p95_ms <= o.p99_ms && o.p99_ms <= o.max_ms);
    });

    // Accuracy: the same numbers as `nitrace score OUT --truth SAMPLE --json`.
    const r = spawnSync(process.execPath, [CLI, 'score', out, '--truth', SAMPLE, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, r.stderr);
    const score = JSON.parse(r.stdout) as ScoreReport;
    const { dataset: _d, ...acc } = json.accuracy!;
    assert.deepEqual(acc, score, 'report.json accuracy differs from nitrace score --json');
    const methods = tableOf(tables, 'Accuracy against ground truth', 'method');
    const expected = [['nitrace', score], ...Object.entries(score.baselines)] as [string, ScoreReport][];
    assert.deepEqual(
      methods,
      expected.map(([m, s]) => [m, pct(s.edge_f1), pct(s.precision), pct(s.recall), pct(s.strict_accuracy), String(s.truth_edges)]),
    );
    const accTables = tables.get([...tables.keys()].find((k) => k.startsWith('Accuracy'))!)!;
    const service = accTables.find((t) => t[0]![0] === 'service')!.slice(1);
    assert.deepEqual(service, Object.entries(score.by_service).map(([k, s]) => [k, pct(s.edge_f1), pct(s.precision), pct(s.recall), pct(s.coverage), String(s.truth_edges)]));
    const evidence = accTables.find((t) => t[0]![0] === 'evidence')!.slice(1);
    assert.deepEqual(evidence, Object.entries(score.by_evidence!).map(([k, e]) => [k, pct(e.precision), String(e.right), String(e.predicted)]));
    assert.ok(evidence.length >= 2, 'per-evidence breakdown is empty');

    // Capture losses: straight from the capture manifest.
    const manifest = JSON.parse(readFileSync(join(SAMPLE, 'capture', 'manifest.json'), 'utf8')) as { events: { written: number }; losses: Record<string, number> };
    const losses = tableOf(tables, 'Capture losses', 'capture');
    assert.equal(losses.length, 1);
    assert.equal(losses[0]![3], String(manifest.events.written));
    assert.equal(losses[0]![losses[0]!.length - 1], pct(Object.values(manifest.losses).reduce((a, b) => a + b, 0) / manifest.events.written));

    if (bench) {
      const rows = tableOf(tables, 'Capture overhead', 'measure');
      assert.deepEqual(rows, json.overhead!.rows.map((x) => [x.measure, x.baseline.toFixed(1), x.traced.toFixed(1), x.added.toFixed(1), x.unit]));
      assert.ok(rows.length >= 1);
      const sketched = json.overhead!.rows.filter((x) => x.sketch);
      if (sketched.length) {
        const sk = tableOf(tables, 'Capture overhead', 'sketch measure');
        assert.deepEqual(sk, sketched.map((x) => [x.measure, x.baseline.toFixed(1), x.sketch!.traced.toFixed(1), x.sketch!.added.toFixed(1), x.added.toFixed(1), x.unit]));
      }
    }
    const sk = tableOf(tables, 'Sketch error vs memory', 'sketch');
    assert.deepEqual(sk.map((x) => [x[4], x[5]]), json.sketches!.rows.map((x) => [String(x.bytes), x.error.toPrecision(3)]));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('report: a directory that is no analysis output is refused, naming the missing file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-report-'));
  try {
    const r = spawnSync(process.execPath, [CLI, 'report', root], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /spans\.parquet not found/);
    assert.ok(!existsSync(join(root, 'report')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
