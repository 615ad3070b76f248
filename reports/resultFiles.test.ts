import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newestResult, OVERHEAD_SECTIONS } from './resultFiles.js';

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

test('newest result that has the sections asked for: a replay-only run does not hide the last full one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-results-'));
  try {
    writeFileSync(join(dir, 'capture-2026-11-30T22-55-47.656Z.json'), JSON.stringify({ syscall_cost: {}, agent_replay: {}, http: {} }));
    writeFileSync(join(dir, 'capture-2026-12-01T01-48-15.725Z.json'), JSON.stringify({ agent_replay: {}, syscall_cost: null }));
    writeFileSync(join(dir, 'capture-2026-12-01T02-00-00.000Z.json'), '{ cut short');
    assert.equal(newestResult(dir, 'capture', OVERHEAD_SECTIONS), join(dir, 'capture-2026-11-30T22-55-47.656Z.json'));
    assert.equal(newestResult(dir, 'capture', ['agent_replay']), join(dir, 'capture-2026-12-01T01-48-15.725Z.json'));
    assert.equal(newestResult(dir, 'capture'), join(dir, 'capture-2026-12-01T02-00-00.000Z.json')); // no sections: by name only
    assert.equal(newestResult(dir, 'capture', ['bpf_stats']), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
