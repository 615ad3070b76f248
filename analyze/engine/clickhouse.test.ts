/**
 * The ClickHouse engine (embedded, chdb) against DuckDB on the same capture: the same rows loaded, the same
 * answers to the portable queries, payload bytes intact, and a Parquet file DuckDB reads back the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../core/version.js';
import { CORE_QUERIES } from '../../testing/engineCoreQueries.js';
import { ClickHouseEngine } from './clickhouse.js';
import { DuckDbEngine } from './duckdb.js';
import type { Engine } from './engine.js';

const EVENTS = join(packageRoot, 'datasets', 'samples', 'tempest-compute-servers', 'capture', 'events');
const files = readdirSync(EVENTS)
  .filter((f) => f.endsWith('.parquet'))
  .sort()
  .map((f) => join(EVENTS, f));

/** Rows as text: bigints as digits, bytes as hex (Buffer.toJSON would run before a replacer could see them). */
const canon = (rows: Record<string, unknown>[]) =>
  JSON.stringify(
    rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]))),
    (_, v: unknown) => (typeof v === 'bigint' ? `${v}` : v),
  );

test('chdb loads a capture and answers the portable queries exactly as DuckDB does', async () => {
  const work = mkdtempSync(join(tmpdir(), 'nitrace-chdb-test-'));
  const engines: [string, Engine][] = [
    ['duckdb', await DuckDbEngine.open()],
    ['clickhouse', await ClickHouseEngine.open()],
  ];
  try {
    const answers: Record<string, string[]> = {};
    for (const [name, e] of engines) {
      const n = await e.loadParquet('events', files);
      const a = [String(n)];
      for (const sql of Object.values(CORE_QUERIES)) a.push(canon(await e.query(sql)));
      a.push(canon(await e.query("SELECT mono_ns, tid, payload FROM events WHERE event = 'data' ORDER BY mono_ns, tid LIMIT 50")));
      const out = join(work, `${name}.parquet`);
      await e.writeParquet("SELECT node, conn_id, count(*) AS n FROM events WHERE event = 'data' GROUP BY node, conn_id ORDER BY node, conn_id", out);
      const back = await DuckDbEngine.open();
      a.push(canon(await back.query(`SELECT node, conn_id, n::BIGINT AS n FROM read_parquet('${out}') ORDER BY node, conn_id`)));
      back.close();
      answers[name] = a;
    }
    assert.equal(answers.clickhouse![0], '92799');
    answers.clickhouse!.forEach((a, i) => assert.equal(a, answers.duckdb![i], `answer ${i}`));
  } finally {
    for (const [, e] of engines) e.close();
    rmSync(work, { recursive: true, force: true });
  }
});
