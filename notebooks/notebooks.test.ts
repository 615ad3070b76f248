/**
 * The capture-overhead notebook executes headless (jupyter-nbconvert, tslab kernel, nitrace's library from dist/)
 * and regenerates its README block and figure: numbers from the newest bench/results/capture-*.json. The other
 * notebooks analyse both shipped samples (minutes each): `make notebooks` runs them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { packageRoot } from '../core/version.js';
import { newestResult, readOverhead, HTTP_ARRANGEMENT_LABEL, OVERHEAD_SECTIONS } from '../reports/resultFiles.js';

test('notebook capture-overhead runs headless and regenerates its README block and figure', { skip: !newestResult(join(packageRoot, 'bench', 'results'), 'capture', OVERHEAD_SECTIONS) && 'no bench result kept' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace notebooks-'));
  try {
    const readme = join(dir, 'README.md');
    copyFileSync(join(packageRoot, 'README.md'), readme);
    if (!readFileSync(readme, 'utf8').includes('<!-- generated:capture-overhead -->')) {
      writeFileSync(readme, readFileSync(readme, 'utf8') + '\n<!-- generated:capture-overhead -->\n<!-- /generated:capture-overhead -->\n');
    }
    const r = spawnSync('bash', [join(packageRoot, 'scripts', 'run-notebooks.sh'), 'notebooks/capture-overhead.ipynb'], {
      cwd: packageRoot,
      encoding: 'utf8',
      env: { ...process.env, NITRACE_README: readme, NITRACE_FIGURES: join(dir, 'figures'), NITRACE_NB_CACHE: join(dir, 'cache') },
    });
    assert.equal(r.status, 0, `notebook failed (needs jupyter-nbconvert + python3-ipykernel: make report-deps):\n${r.stderr.slice(-3000)}`);
    const fig = join(dir, 'figures', 'capture-overhead.png');
    assert.ok(existsSync(fig), 'figure not written');
    const png = PNG.sync.read(readFileSync(fig));
    assert.ok(png.width > 200 && png.height > 100);
    const block = readFileSync(readme, 'utf8').split('<!-- generated:capture-overhead -->')[1]!.split('<!-- /generated:capture-overhead -->')[0]!;
    const o = readOverhead(newestResult(join(packageRoot, 'bench', 'results'), 'capture', OVERHEAD_SECTIONS)!);
    const signed = (ns: number) => `${ns < 0 ? '' : '+'}${(ns / 1000).toFixed(2)}`; // the notebook's format: -0.03, +0.57
    for (const row of o.rows) assert.ok(block.includes(`${signed(row.added)} us`), `block lacks ${row.measure}:\n${block}`);
    // a run with the sketch-mode arm: its column, from the same rows
    for (const row of o.rows.filter((x) => x.sketch)) assert.ok(block.includes(`${signed(row.sketch!.added)} us (-> ${(row.sketch!.traced / 1000).toFixed(2)} us)`), `block lacks sketch mode of ${row.measure}:\n${block}`);
    // the HTTP row names where the capture ran (http.ratio: on the server's CPU since main 5754ae4)
    if (o.http) assert.ok(block.includes(`tiny HTTP server under wrk, ${HTTP_ARRANGEMENT_LABEL[o.http.arrangement]}`), `block lacks the HTTP row's arrangement:\n${block}`);
    assert.match(block, /!\[CPU per syscall\]\(.*capture-overhead\.png\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A notebook in the shape of the accuracy notebooks: types from ./dist/types/, a cell that writes files under dist/. */
function writesUnderDist(dir: string): string {
  const code = (lines: string[]) => ({ cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: lines.join('\n') });
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
    cells: [
      code(["const fs = require('fs') as typeof import('fs');", "type Md = typeof import('./dist/types/reports/markdown.js');", 'const md: Md | null = null;']),
      code([`const dir = ${JSON.stringify(dir)};`, "fs.mkdirSync(dir, { recursive: true });", "fs.writeFileSync(dir + '/summary.json', '{}');", 'await new Promise((r) => setTimeout(r, 2000));']),
      code(['const after: number = 1 + 1;', 'after']),
    ],
  };
  const file = join(mkdtempSync(join(tmpdir(), 'nitrace notebook-')), 'writes-under-dist.ipynb');
  writeFileSync(file, JSON.stringify(nb));
  return file;
}

test('notebooks: a cell after one that wrote files under dist/ runs (tslab kernel with TypeScript watchers off)', () => {
  // Without scripts/tslab-no-watch.cjs the third cell failed: "Unexpected pending rebuildTimer" (tslab's one-slot
  // timer and TypeScript's failed-lookup invalidation, started by the new files under the watched dist/).
  const out = join(packageRoot, 'dist', 'notebooks', `watch-test-${process.pid}`);
  const nb = writesUnderDist(out);
  try {
    // its own cache: the checkout's may hold analyses another run is using
    const cache = join(dirname(nb), 'cache');
    const r = spawnSync('bash', [join(packageRoot, 'scripts', 'run-notebooks.sh'), nb], { cwd: packageRoot, encoding: 'utf8', env: { ...process.env, NITRACE_README: 'none', NITRACE_NB_CACHE: cache } });
    assert.equal(r.status, 0, `notebook failed:\n${r.stderr.slice(-3000)}`);
    const executed = JSON.parse(readFileSync(join(packageRoot, 'dist', 'notebooks', 'writes-under-dist.ipynb'), 'utf8')) as { cells: { outputs: { data?: Record<string, string> }[] }[] };
    assert.match(JSON.stringify(executed.cells[2]!.outputs), /2/);
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(join(packageRoot, 'dist', 'notebooks', 'writes-under-dist.ipynb'), { force: true });
    rmSync(dirname(nb), { recursive: true, force: true });
  }
});
