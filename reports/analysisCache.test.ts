/**
 * cachedAnalysis: CACHE/NAME appears only whole (never while its analysis runs, never after a failed one), concurrent
 * callers of one NAME end with one finished analysis, and a half directory of an older in-place analysis is replaced.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../core/version.js';
import { fixtureCaptureDirs } from '../testing/golden.js';
import { cachedAnalysis } from './analysisCache.js';

const captures = fixtureCaptureDirs(join(packageRoot, 'analyze', 'fixtures', 'http-seq'));

test('cachedAnalysis: the analysis appears whole, outputs named at their final place, no work dir left', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'nitrace-cache-'));
  try {
    let seenHalf = false;
    const poll = setInterval(() => {
      if (existsSync(join(cache, 'seq')) && !existsSync(join(cache, 'seq', 'summary.json'))) seenHalf = true;
    }, 5);
    const out = await cachedAnalysis(cache, 'seq', captures);
    clearInterval(poll);
    assert.equal(out, join(cache, 'seq'));
    assert.equal(seenHalf, false, 'CACHE/NAME existed without summary.json while the analysis ran');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { outputs: Record<string, string>; spans: number };
    assert.ok(summary.spans > 0);
    for (const [k, v] of Object.entries(summary.outputs)) {
      assert.ok(v.startsWith(out + '/'), `outputs.${k} = ${v} is not under ${out}`);
      assert.ok(existsSync(v), `outputs.${k} = ${v} missing`);
    }
    assert.deepEqual(readdirSync(cache), ['seq'], 'a work directory was left in the cache');
    // cached: the second call does not analyse again (same files, same mtime)
    const before = readFileSync(join(out, 'summary.json'), 'utf8');
    assert.equal(await cachedAnalysis(cache, 'seq', captures), out);
    assert.equal(readFileSync(join(out, 'summary.json'), 'utf8'), before);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('cachedAnalysis: two callers of one name at once end with one finished analysis', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'nitrace-cache-'));
  try {
    const [a, b] = await Promise.all([cachedAnalysis(cache, 'seq', captures), cachedAnalysis(cache, 'seq', captures)]);
    assert.equal(a, b);
    assert.ok(existsSync(join(a, 'summary.json')));
    assert.deepEqual(readdirSync(cache), ['seq']);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('cachedAnalysis: a half directory (older in-place analysis, killed) is replaced; a failed analysis leaves nothing', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'nitrace-cache-'));
  try {
    mkdirSync(join(cache, 'seq'));
    writeFileSync(join(cache, 'seq', 'analysis.duckdb.wal'), 'left by a killed run');
    const out = await cachedAnalysis(cache, 'seq', captures);
    assert.ok(existsSync(join(out, 'summary.json')));
    assert.ok(!existsSync(join(out, 'analysis.duckdb.wal')), 'the killed run\'s file is still there');
    await assert.rejects(cachedAnalysis(cache, 'broken', [join(cache, 'no-such-capture')]));
    assert.ok(!existsSync(join(cache, 'broken')));
    assert.deepEqual(readdirSync(cache), ['seq'], 'the failed analysis left a work directory');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
