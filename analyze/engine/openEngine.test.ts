import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINE_MEMORY_SHARE, engineMemoryBytes, openEngine, parseSize } from './openEngine.js';

test('openEngine: --memory is the whole analysis budget; the engine is limited to its share of it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-engine-memory-'));
  const budget = parseSize('2GB')!;
  const { engine } = await openEngine('duckdb', dir, { memoryBytes: engineMemoryBytes(budget), tempDir: join(dir, 'tmp') });
  try {
    const [r] = await engine.query<{ limit: string }>("SELECT current_setting('memory_limit') AS limit");
    // DuckDB prints the limit rounded (e.g. '1.1 GiB'): within 5 % of the share, and well under the budget.
    const shown = parseSize(r!.limit.replace(/\s+/g, ''))!;
    assert.ok(Math.abs(shown - budget * ENGINE_MEMORY_SHARE) < 0.05 * budget, `memory_limit ${r!.limit}`);
    assert.ok(shown < budget * 0.7, `memory_limit ${r!.limit}`);
  } finally {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(engineMemoryBytes(10 * 1024 ** 2), 64 * 1024 ** 2);
});
