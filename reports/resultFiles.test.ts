import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newestResult } from './resultFiles.js';

test('newest result by the time in its name, whatever label comes before it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-results-'));
  try {
    for (const f of [
      'sketch-eval-tempest-identity-image-2026-11-30T08-15-38.699Z.json',
      'sketch-eval-tempest-compute-large-2026-11-30T13-20-01.000Z.json',
      'sketch-eval-tempest-compute-servers-2026-11-30T08-12-23.478Z.json',
      'capture-2026-11-30T11-45-12.786Z.json',
      'capture-compare-2026-11-30T12-00-00.000Z.json',
    ]) writeFileSync(join(dir, f), '{}');
    assert.equal(newestResult(dir, 'sketch-eval'), join(dir, 'sketch-eval-tempest-compute-large-2026-11-30T13-20-01.000Z.json'));
    assert.equal(newestResult(dir, 'capture'), join(dir, 'capture-compare-2026-11-30T12-00-00.000Z.json')); // why kinds must not nest
    assert.equal(newestResult(dir, 'engines'), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
