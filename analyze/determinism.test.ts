/**
 * Determinism (issue 12): the same captures analysed twice give byte-identical spans.parquet, edges.parquet,
 * otlp.json and jaeger.json, whatever the output directory is called and however the work is scheduled: ids come
 * from content, never from random numbers, the wall clock or thread timing. The second sample run happens in a
 * child process pinned to one CPU (taskset) with two parse workers instead of one, so DuckDB's threads and the
 * parse workers interleave differently from the first run.
 * On a mismatch the message names the file and shows the first differing rows (Parquet) or bytes (JSON).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../core/version.js';
import { fixtureCaptureDirs } from '../testing/golden.js';
import { analyzeCaptures } from './analyze.js';
import { DuckDbEngine } from './engine/duckdb.js';
import { sqlString } from './engine/engine.js';

const COMPARED = ['spans.parquet', 'edges.parquet', 'otlp.json', 'jaeger.json'];

/** What differs between two analysis outputs, one line per file (empty: byte-identical). */
async function differences(a: string, b: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of COMPARED) {
    const x = readFileSync(join(a, f));
    const y = readFileSync(join(b, f));
    if (x.equals(y)) continue;
    if (f.endsWith('.parquet')) {
      const db = await DuckDbEngine.open();
      try {
        const [pa, pb] = [sqlString(join(a, f)), sqlString(join(b, f))];
        const [n] = await db.query<{ a: bigint; b: bigint }>(
          `SELECT (SELECT count(*) FROM read_parquet(${pa})) AS a, (SELECT count(*) FROM read_parquet(${pb})) AS b`,
        );
        const onlyA = await db.query(`SELECT * FROM read_parquet(${pa}) EXCEPT SELECT * FROM read_parquet(${pb}) LIMIT 3`);
        const onlyB = await db.query(`SELECT * FROM read_parquet(${pb}) EXCEPT SELECT * FROM read_parquet(${pa}) LIMIT 3`);
        const show = (r: unknown[]) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
        out.push(
          onlyA.length || onlyB.length
            ? `${f}: rows differ (${n!.a} vs ${n!.b} rows); only in first run: ${show(onlyA)}; only in second: ${show(onlyB)}`
            : `${f}: same rows (${n!.a}) in a different order or encoding (${x.length} vs ${y.length} bytes)`,
        );
      } finally {
        db.close();
      }
    } else {
      let i = 0;
      while (i < x.length && i < y.length && x[i] === y[i]) i++;
      const ctx = (buf: Buffer) => JSON.stringify(buf.subarray(Math.max(0, i - 80), i + 80).toString('utf8'));
      out.push(`${f}: first difference at byte ${i} (${x.length} vs ${y.length} bytes): ${ctx(x)} vs ${ctx(y)}`);
    }
  }
  return out;
}

test('determinism: two-node fixture analysed twice (different output dirs) gives identical outputs', async () => {
  const dirs = fixtureCaptureDirs(join(packageRoot, 'analyze', 'fixtures', 'http-concurrent'));
  assert.equal(dirs.length, 2, 'fixture http-concurrent: expected two capture nodes');
  const root = mkdtempSync(join(tmpdir(), 'nitrace-determinism-'));
  try {
    await analyzeCaptures({ captureDirs: dirs, out: join(root, 'first') });
    await analyzeCaptures({ captureDirs: [...dirs], out: join(root, 'second run') });
    assert.deepEqual(await differences(join(root, 'first'), join(root, 'second run')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const SAMPLE = join(packageRoot, 'datasets', 'samples', 'tempest-compute-servers', 'capture');
const oneCpu = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length > 1;

test(
  'determinism: OpenStack sample (HTTP, SQL, RPC, content evidence) in-process and again on one CPU with two parse workers gives identical outputs',
  { skip: !existsSync(SAMPLE) ? 'sample not shipped' : !oneCpu ? 'needs taskset and two CPUs' : false },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'nitrace-determinism-'));
    try {
      await analyzeCaptures({ captureDirs: [SAMPLE], out: join(root, 'in-process') });
      const cli = join(packageRoot, 'bin', 'nitrace.js');
      const r = spawnSync('taskset', ['-c', '0', process.execPath, cli, 'analyze', SAMPLE, '--out', join(root, 'one cpu'), '--quiet', '--workers', '2'], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `analyze on one CPU failed: ${r.stderr}`);
      assert.deepEqual(await differences(join(root, 'in-process'), join(root, 'one cpu')), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);
