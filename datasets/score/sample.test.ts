/**
 * The shipped sample dataset (datasets/samples/*, recorded on the lab with record-tempest.sh), analyzed and scored
 * end to end. The numbers measured when the sample was recorded are asserted as lower bounds (docs/scoring.md,
 * "Measured"): a change that makes the reconstruction worse on real OpenStack traffic fails here.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { analyzeCaptures } from '../../analyze/analyze.js';
import { readTruth } from '../truth/truthStore.js';
import { readObserved } from './observed.js';
import { scoreAll } from './score.js';

const SAMPLES = fileURLToPath(new URL('../../../datasets/samples/', import.meta.url));

interface Bounds {
  /** lower bounds, as fractions */
  edge_f1: number;
  precision: number;
  recall: number;
  strict_accuracy: number;
  coverage: number;
}

const samples = existsSync(SAMPLES) ? readdirSync(SAMPLES).filter((d) => existsSync(join(SAMPLES, d, 'expected.json'))) : [];

for (const name of samples) {
  test(`sample ${name}: analyze + score reach the recorded accuracy`, async () => {
    const dir = join(SAMPLES, name);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { lower_bounds: Bounds; truth_points: number };
    const out = mkdtempSync(join(tmpdir(), `nitrace-sample-${name}-`));
    try {
      await analyzeCaptures({ captureDirs: [join(dir, 'capture')], out });
      const truth = await readTruth(join(dir, 'truth'));
      assert.equal(truth.points.length, expected.truth_points);
      const r = scoreAll(truth.points, await readObserved(out), ['fcfs', 'vpath', 'deepflow']);
      for (const [k, bound] of Object.entries(expected.lower_bounds)) {
        const got = r[k as keyof Bounds];
        assert.ok(got >= bound, `${k} = ${got.toFixed(4)} < ${bound} (recorded lower bound)`);
      }
      for (const b of ['fcfs', 'vpath', 'deepflow'] as const) assert.ok(r.baselines[b]!.truth_edges === r.truth_edges);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}

test('samples: every shipped sample has a card and its truth', () => {
  for (const name of samples) {
    for (const f of ['CARD.md', 'card.json', 'truth/spans.parquet', 'truth/edges.parquet', 'capture/manifest.json']) {
      assert.ok(existsSync(join(SAMPLES, name, f)), `${name}/${f} missing`);
    }
  }
});
