import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbEngine } from '../engine/duckdb.js';
import { Diagnostics } from '../diagnostics.js';
import { sqlString } from '../engine/engine.js';
import { loadCaptures } from './loadCaptures.js';
import { SyntheticCapture, type Endpoint } from '../../testing/syntheticCapture.js';

const ms = 1_000_000n;
const ep = (node: string, pid: number, port: number): Endpoint => ({ node, pid, comm: 'svc', addr: '127.0.0.1', port });

test('capture schema 1 and 2 load side by side: schema 1 rows get NULL gid/parent_gid, schema 2 keeps them and its new event kinds', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-load-'));
  const engine = await DuckDbEngine.open();
  try {
    const cap = new SyntheticCapture();
    const k = cap.connect(ep('a', 1, 5000), ep('b', 2, 80));
    cap.http(k, { t: 1n * ms, tResp: 2n * ms, clientTid: 1, serverTid: 2, path: '/ok' });
    const [v1, v2] = await cap.write(root, ['a', 'b']);
    // Turn node b into a schema 2 capture: gid on every row, plus a green_spawn and a block event.
    const seg = join(v2!, 'events', 'seg-000001.parquet');
    await engine.exec(`CREATE TABLE b AS SELECT *, 1000 + tid::UBIGINT AS gid, NULL::UBIGINT AS parent_gid FROM read_parquet(${sqlString(seg)})`);
    await engine.exec(`INSERT INTO b SELECT ts_ns + 1, mono_ns + 1, node, pid, tid, comm, -1, 'green_spawn', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
      NULL, NULL, 0, ''::BLOB, false, 1002, 999 FROM b LIMIT 1`);
    await engine.exec(`INSERT INTO b SELECT ts_ns + 2, mono_ns + 2, node, pid, tid, comm, fd, 'block', syscall, 'recv', conn_id, family, local_addr, local_port,
      remote_addr, remote_port, netns, tcp_seq, 0, ''::BLOB, false, gid, NULL FROM b WHERE event = 'data' LIMIT 1`);
    await engine.writeParquet('SELECT * FROM b ORDER BY mono_ns', seg);
    const manifestPath = join(v2!, 'manifest.json');
    writeFileSync(manifestPath, readFileSync(manifestPath, 'utf8').replace('"schema_version": 1', '"schema_version": 2'));

    const diag = new Diagnostics();
    const manifests = await loadCaptures(engine, [v1!, v2!], diag);
    assert.deepEqual(manifests.map((m) => m.schemaVersion), [1, 2]);
    const rows = await engine.query<{ node: string; event: string; n: bigint; gids: bigint; parents: bigint }>(
      `SELECT node, event, count(*) AS n, count(gid) AS gids, count(parent_gid) AS parents FROM events GROUP BY ALL ORDER BY ALL`,
    );
    assert.deepEqual(rows.map((r) => [r.node, r.event, Number(r.n), Number(r.gids), Number(r.parents)]), [
      ['a', 'data', 2, 0, 0],
      ['b', 'block', 1, 1, 0],
      ['b', 'data', 2, 2, 0],
      ['b', 'green_spawn', 1, 1, 1],
    ]);
    assert.deepEqual(diag.warnings, []);
  } finally {
    engine.close();
    rmSync(root, { recursive: true, force: true });
  }
});
