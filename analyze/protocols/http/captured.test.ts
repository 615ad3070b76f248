import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../core/version.js';
import { DuckDbEngine } from '../../engine/duckdb.js';
import { sqlString } from '../../engine/engine.js';
import { fixtureCaptureDirs } from '../../../testing/golden.js';
import { GappedStream } from '../gappedStream.js';
import { parseFrames } from '../parseFrames.js';
import type { Chunk } from '../types.js';
import { classifyHttp } from './parse.js';
import { httpSpec } from './spec.js';
import { stitchHttp } from './stitch.js';

/**
 * The HTTP parser on real captured connections (analyze/fixtures/*, recorded live from the test app): every
 * connection frames without a skipped byte and every request finds its response.
 */
const root = join(packageRoot, 'analyze', 'fixtures');
const dirs = existsSync(root) ? readdirSync(root).flatMap((d) => fixtureCaptureDirs(join(root, d))) : [];

test('http on captured fixtures: every message framed, every request answered', { skip: dirs.length === 0 ? 'no fixtures recorded' : false }, async () => {
  const e = await DuckDbEngine.open();
  try {
    let calls = 0;
    for (const dir of dirs) {
      const files = readdirSync(join(dir, 'events')).filter((f) => f.endsWith('.parquet')).map((f) => sqlString(join(dir, 'events', f)));
      const rows = await e.query<{ conn_id: bigint; local_port: number; direction: string; ts_ns: bigint; tid: number; bytes: bigint; payload: Uint8Array }>(
        `SELECT conn_id, local_port, direction, ts_ns, tid, bytes, payload FROM read_parquet([${files.join(', ')}])
         WHERE event = 'data' ORDER BY conn_id, local_port, direction, mono_ns`,
      );
      const byConn = new Map<string, { send: Chunk[]; recv: Chunk[] }>();
      for (const r of rows) {
        const k = `${r.conn_id}/${r.local_port}`;
        const c = byConn.get(k) ?? byConn.set(k, { send: [], recv: [] }).get(k)!;
        (r.direction === 'send' ? c.send : c.recv).push({ tsNs: r.ts_ns, tid: r.tid, bytes: Number(r.bytes), data: r.payload });
      }
      for (const [k, c] of byConn) {
        const first = c.send[0]?.data ?? c.recv[0]?.data;
        if (!first) continue;
        const sendIsRequest = c.send.length > 0 ? classifyHttp(c.send[0]!.data) === 'request' : classifyHttp(c.recv[0]!.data) === 'response';
        const req = parseFrames(httpSpec, new GappedStream(sendIsRequest ? c.send : c.recv), 'request');
        const resp = parseFrames(httpSpec, new GappedStream(sendIsRequest ? c.recv : c.send), 'response');
        assert.equal(req.skippedBytes + resp.skippedBytes, 0, `${dir} connection ${k}: bytes skipped`);
        assert.equal(req.incompleteBytes + resp.incompleteBytes, 0, `${dir} connection ${k}: incomplete message`);
        const st = stitchHttp(req.frames, resp.frames);
        assert.equal(st.errorCount, 0, `${dir} connection ${k}: unpaired`);
        assert.ok(st.records.every((r) => r.resp !== null));
        calls += st.records.length;
      }
    }
    assert.ok(calls > 0);
  } finally {
    e.close();
  }
});
