/**
 * The capture-overhead notebook executes headless (jupyter-nbconvert, tslab kernel, nitrace's library from dist/)
 * and regenerates its README block and figure: numbers from the newest bench/results/capture-*.json. The other
 * notebooks analyse both shipped samples (minutes each): `make notebooks` runs them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { packageRoot } from '../core/version.js';
import { newestResult, readOverhead } from '../reports/resultFiles.js';

test('notebook capture-overhead runs headless and regenerates its README block and figure', { skip: !newestResult(join(packageRoot, 'bench', 'results'), 'capture') && 'no bench result kept' }, () => {
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
    const o = readOverhead(newestResult(join(packageRoot, 'bench', 'results'), 'capture')!);
    for (const row of o.rows) assert.ok(block.includes(`+${(row.added / 1000).toFixed(2)} us`), `block lacks ${row.measure}:\n${block}`);
    // a run with the sketch-mode arm: its column, from the same rows
    for (const row of o.rows.filter((x) => x.sketch)) assert.ok(block.includes(`+${(row.sketch!.added / 1000).toFixed(2)} us (-> ${(row.sketch!.traced / 1000).toFixed(2)} us)`), `block lacks sketch mode of ${row.measure}:\n${block}`);
    assert.match(block, /!\[CPU per syscall\]\(.*capture-overhead\.png\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
