import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Diagnostics } from '../diagnostics.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { sqlString } from '../engine/engine.js';
import { loadCaptures } from '../load/loadCaptures.js';
import { connectionRanges, parseConnections } from './parseConnections.js';

test('connection ranges: consecutive, within the budget, a connection beyond it alone', () => {
  assert.deepEqual(connectionRanges([10, 10, 10, 10], Infinity), [[0, 3]]);
  assert.deepEqual(connectionRanges([10, 10, 10, 10], 20), [[0, 1], [2, 3]]);
  assert.deepEqual(connectionRanges([5, 50, 5, 5], 20), [[0, 0], [1, 1], [2, 3]]);
  assert.deepEqual(connectionRanges([], 20), []);
});

const FIXTURE = fileURLToPath(new URL('../../../analyze/fixtures/http-concurrent', import.meta.url));

/** The parse step's tables of a recorded fixture (rows in sid order), with a sort budget (bytes) and read mode. */
async function parsedTables(opts: { budget?: number; scanOrder?: boolean; workers?: number; fixture?: string }): Promise<{ tables: string; diag: Diagnostics }> {
  const fixture = opts.fixture ?? FIXTURE;
  const engine = await DuckDbEngine.open();
  try {
    const diag = new Diagnostics();
    await loadCaptures(engine, [`${fixture}/host`, `${fixture}/ns1`], diag);
    await parseConnections(engine, diag, { mask: false, progress: false, sortBudgetBytes: opts.budget, scanOrder: opts.scanOrder, workers: opts.workers });
    const [sides] = await engine.query<{ h: string }>('SELECT string_agg(t::VARCHAR, chr(10) ORDER BY sid) AS h FROM call_sides t');
    const [ids] = await engine.query<{ h: string }>("SELECT coalesce(string_agg(t::VARCHAR, chr(10) ORDER BY sid, field, value), '') AS h FROM call_ids t");
    return { tables: `${sides?.h}\n${ids?.h}`, diag };
  } finally {
    engine.close();
  }
}

test('a small sort budget reads the connections in several sorts and parses the same rows', async () => {
  const whole = await parsedTables({ scanOrder: false });
  const split = await parsedTables({ scanOrder: false, budget: 4096 });
  assert.ok((split.diag.counts.parse_sort_passes ?? 0) > 2, `passes: ${split.diag.counts.parse_sort_passes}`);
  assert.equal(whole.diag.counts.parse_sort_passes, undefined);
  assert.ok(whole.tables.length > 1000);
  assert.equal(split.tables, whole.tables);
});

test('captures read in file order (no sort) parse into the same rows and counts as sorted, with any number of workers', async () => {
  const sorted = await parsedTables({ scanOrder: false });
  for (const workers of [1, 3]) {
    const scanned = await parsedTables({ workers });
    assert.equal(scanned.diag.counts.parse_captures_out_of_order, undefined, 'both captures are in mono_ns order in their files');
    assert.equal(scanned.diag.counts.parse_sort_passes, undefined);
    assert.equal(scanned.tables, sorted.tables);
    assert.deepEqual(scanned.diag.counts, sorted.diag.counts);
    assert.deepEqual(scanned.diag.warnings, sorted.diag.warnings);
  }
});

test('a capture whose files are not in time order is read sorted, the others in file order: the same rows', async () => {
  const work = mkdtempSync(join(tmpdir(), 'nitrace-parse-'));
  try {
    cpSync(FIXTURE, work, { recursive: true });
    // The host's second segment rewritten newest event first: its events go back in time.
    const seg = join(work, 'host', 'events', 'seg-000002.parquet');
    const engine = await DuckDbEngine.open();
    try {
      await engine.exec(`COPY (SELECT * FROM read_parquet(${sqlString(join(FIXTURE, 'host', 'events', 'seg-000002.parquet'))}) ORDER BY mono_ns DESC) TO ${sqlString(seg)} (FORMAT parquet)`);
    } finally {
      engine.close();
    }
    const mixed = await parsedTables({ fixture: work });
    assert.equal(mixed.diag.counts.parse_captures_out_of_order, 1);
    assert.equal(mixed.tables, (await parsedTables({ scanOrder: false })).tables);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
