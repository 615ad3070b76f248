import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCaptures } from '../analyze.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { SyntheticCapture } from '../../testing/syntheticCapture.js';
import { maskPayload, maskPayloads } from './maskGroundTruth.js';

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

test('maskPayloads masks a block exactly as maskPayload masks each of its payloads', () => {
  const texts = [
    'GET / HTTP/1.1\r\nX-Trace-Info: eyJiYXNlX2lkIjogIjEyMyJ9\r\nX-Trace-HMAC: abcdef\r\n\r\n',
    '',
    'nothing here',
    'tr', // a hint cut across two payloads ("tr" + "ace") is in neither
    'ace: no',
    '{"_context_trace_info": {"base_id": "b", "parent_id": "p", "hmac_key": "k"}, "x": 1}',
    'short',
    'GET / HTTP/1.1\r\nx-trace-info: eyJiYXNlX2lkIjogIjEyMyJ9\r\n\r\n',
    'trace', // a hint in a payload too short to be matched
    '{"x": "par',
    'ent_id", "parent_id": "p1", "base_id": "b1"}', // a hint cut at its start, then whole ones
    // Rows past the first 64 KiB run of text, one longer than a run by itself, with hints at its ends.
    'x'.repeat(40_000),
    `{"base_id": "b2", ${'y'.repeat(70_000)} "hmac_key": "k2"}`,
    'GET / HTTP/1.1\r\nX-Trace-HMAC: 0123\r\n\r\n',
  ];
  const parts = texts.map((t) => Buffer.from(t, 'latin1'));
  const offsets = new Uint32Array(parts.length + 1);
  parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
  const block = new Uint8Array(Buffer.concat(parts));
  const one = parts.map((p) => new Uint8Array(p));
  const expected = one.reduce((n, p) => n + maskPayload(p), 0);
  assert.ok(expected >= 3, `masked ${expected}`);
  assert.equal(maskPayloads(block, offsets, parts.length), expected);
  assert.deepEqual(Buffer.from(block).toString('latin1'), Buffer.concat(one).toString('latin1'));
});
