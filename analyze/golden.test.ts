import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../core/version.js';
import { analyzeCaptures } from './analyze.js';
import { fixtureCaptureDirs, goldenResult } from '../testing/golden.js';
import { scoreAgainstTruth } from '../workloads/testapp/groundTruth.js';

/**
 * Golden pairs: each analyze/fixtures/<name>/ holds real capture directories (one per node) and expected.json.
 * NITRACE_UPDATE_GOLDEN=1 rewrites expected.json; a missing expected.json fails; on a mismatch or a missing file the
 * actual result is written to actual.json for review.
 */
const root = join(packageRoot, 'analyze', 'fixtures');
const fixtures = existsSync(root) ? readdirSync(root).filter((d) => fixtureCaptureDirs(join(root, d)).length > 0).sort() : [];

if (fixtures.length === 0) test('golden: no fixtures recorded yet', { skip: 'analyze/fixtures/ has no capture' }, () => {});
for (const name of fixtures) {
  test(`golden: ${name}`, async () => {
    const dir = join(root, name);
    const out = mkdtempSync(join(tmpdir(), 'nitrace-golden-'));
    try {
      const summary = await analyzeCaptures({ captureDirs: fixtureCaptureDirs(dir), out });
      const actual = await goldenResult(out, summary);
      const file = join(dir, 'expected.json');
      if (process.env.NITRACE_UPDATE_GOLDEN) writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
      // A missing expected file is a failure, not a fixture: a new golden result must be reviewed before it is kept.
      if (!existsSync(file)) {
        writeFileSync(join(dir, 'actual.json'), JSON.stringify(actual, null, 2) + '\n');
        assert.fail(`${file} missing: review ${join(dir, 'actual.json')} and keep it as expected.json (or run with NITRACE_UPDATE_GOLDEN=1)`);
      }
      const expected = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      // Fixtures recorded from the test app carry its ground truth: every edge must match it.
      if (existsSync(join(dir, 'truth.jsonl'))) {
        const score = await scoreAgainstTruth(out, join(dir, 'truth.jsonl'));
        assert.deepEqual({ missing: score.missing, extra: score.extra }, { missing: [], extra: [] });
        assert.equal(score.tracesExact, score.traces);
      }
      try {
        assert.deepEqual(actual, expected);
      } catch (e) {
        writeFileSync(join(dir, 'actual.json'), JSON.stringify(actual, null, 2) + '\n');
        throw e;
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
