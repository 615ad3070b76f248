import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCaptures } from '../analyze.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { SyntheticCapture } from '../../testing/syntheticCapture.js';

test('ground truth never reaches correlation: X-Trace-Info is masked before parsing', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-mask-'));
  try {
    const cap = new SyntheticCapture();
    const k = cap.connect({ node: 'a', pid: 1, comm: 'c', addr: '127.0.0.1', port: 5000 }, { node: 'a', pid: 2, comm: 's', addr: '127.0.0.1', port: 80 });
    const info = 'eyJiYXNlX2lkIjogIjEyMyIsICJwYXJlbnRfaWQiOiAiNDU2In0=';
    cap.http(k, { t: 1_000_000n, tResp: 2_000_000n, clientTid: 1, serverTid: 2, path: '/x', headers: { 'X-Trace-Info': info, 'X-Trace-HMAC': 'abcdef0123', 'X-Request-ID': 'r1' } });
    const dirs = await cap.write(root, ['a']);
    const s = await analyzeCaptures({ captureDirs: dirs, out: join(root, 'out') });
    assert.ok((s.counts.ground_truth_fields_masked ?? 0) >= 2, JSON.stringify(s.counts));
    const e = await DuckDbEngine.open(join(root, 'out', 'analysis.duckdb'));
    try {
      const ids = await e.query<{ value: string }>('SELECT DISTINCT value FROM span_ids ORDER BY 1');
      assert.deepEqual(ids.map((r) => r.value), ['r1']);
    } finally {
      e.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
