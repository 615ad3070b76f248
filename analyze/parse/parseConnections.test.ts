import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Diagnostics } from '../diagnostics.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { loadCaptures } from '../load/loadCaptures.js';
import { connectionRanges, parseConnections } from './parseConnections.js';

test('connection ranges: consecutive, within the budget, a connection beyond it alone', () => {
  assert.deepEqual(connectionRanges([10, 10, 10, 10], Infinity), [[0, 3]]);
  assert.deepEqual(connectionRanges([10, 10, 10, 10], 20), [[0, 1], [2, 3]]);
  assert.deepEqual(connectionRanges([5, 50, 5, 5], 20), [[0, 0], [1, 1], [2, 3]]);
  assert.deepEqual(connectionRanges([], 20), []);
});

/** The parse step's tables of a recorded fixture, with a sort budget (bytes). */
async function parsedTables(budget: number | undefined): Promise<{ tables: string; diag: Diagnostics }> {
  const fixture = fileURLToPath(new URL('../../../analyze/fixtures/http-concurrent', import.meta.url));
  const engine = await DuckDbEngine.open();
  try {
    const diag = new Diagnostics();
    await loadCaptures(engine, [`${fixture}/host`, `${fixture}/ns1`], diag);
    await parseConnections(engine, diag, { mask: false, progress: false, sortBudgetBytes: budget });
    const [sides] = await engine.query<{ h: string }>('SELECT string_agg(t::VARCHAR, chr(10)) AS h FROM call_sides t');
    const [ids] = await engine.query<{ h: string }>('SELECT coalesce(string_agg(t::VARCHAR, chr(10)), \'\') AS h FROM call_ids t');
    return { tables: `${sides?.h}\n${ids?.h}`, diag };
  } finally {
    engine.close();
  }
}

test('a small sort budget reads the connections in several sorts and parses the same rows in the same order', async () => {
  const whole = await parsedTables(undefined);
  const split = await parsedTables(4096);
  assert.ok((split.diag.counts.parse_sort_passes ?? 0) > 2, `passes: ${split.diag.counts.parse_sort_passes}`);
  assert.equal(whole.diag.counts.parse_sort_passes, undefined);
  assert.ok(whole.tables.length > 1000);
  assert.equal(split.tables, whole.tables);
});
