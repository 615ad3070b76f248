import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NitraceError } from '../core/errors.js';
import { analyzeCaptures } from './analyze.js';
import { SyntheticCapture, type Endpoint } from '../testing/syntheticCapture.js';

const ms = 1_000_000n;
const ep = (node: string, pid: number, port: number): Endpoint => ({ node, pid, comm: 'svc', addr: '127.0.0.1', port });

const codes = (ws: { code: string }[]): string[] => ws.map((w) => w.code);

async function withDir(fn: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-bad-'));
  try {
    await fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function goodCapture(root: string, nodes = ['a']): Promise<string[]> {
  const cap = new SyntheticCapture();
  const k = cap.connect(ep('a', 1, 5000), ep('a', 2, 80));
  cap.http(k, { t: 1n * ms, tResp: 2n * ms, clientTid: 1, serverTid: 2, path: '/ok' });
  return cap.write(root, nodes);
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NitraceError, `expected NitraceError, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    assert.match(e.message, pattern);
    return true;
  });
}

test('bad input: missing directory, missing or broken manifest, unknown schema version -> named errors', async () => {
  await withDir(async (root) => {
    const out = join(root, 'out');
    await rejects(analyzeCaptures({ captureDirs: [join(root, 'nope')], out }), /not a directory/);
    mkdirSync(join(root, 'empty'));
    await rejects(analyzeCaptures({ captureDirs: [join(root, 'empty')], out }), /no manifest\.json/);
    const [dir] = await goodCapture(root);
    const manifest = join(dir!, 'manifest.json');
    const good = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, '{"format": "nitrace-capture", ');
    await rejects(analyzeCaptures({ captureDirs: [dir!], out }), /not valid JSON/);
    writeFileSync(manifest, good.replace('"schema_version": 1', '"schema_version": 99'));
    await rejects(analyzeCaptures({ captureDirs: [dir!], out }), /schema version 99 is not supported/);
  });
});

test('bad input: an empty capture is an error; the same node twice is an error', async () => {
  await withDir(async (root) => {
    const [dir] = await goodCapture(root);
    rmSync(join(dir!, 'events'), { recursive: true });
    await rejects(analyzeCaptures({ captureDirs: [dir!], out: join(root, 'out') }), /no events/);
  });
  await withDir(async (root) => {
    const [a] = await goodCapture(join(root, 'x'));
    const [b] = await goodCapture(join(root, 'y'));
    await rejects(analyzeCaptures({ captureDirs: [a!, b!], out: join(root, 'out') }), /both node "a"/);
  });
});

test('bad input: a corrupt segment is skipped with a warning and the rest analysed', async () => {
  await withDir(async (root) => {
    const [dir] = await goodCapture(root);
    writeFileSync(join(dir!, 'events', 'seg-000002.parquet'), Buffer.from('PAR1 this is not parquet at all'));
    const s = await analyzeCaptures({ captureDirs: [dir!], out: join(root, 'out') });
    assert.equal(s.spans, 2);
    assert.deepEqual(codes(s.warnings), ['segment-unreadable']);
  });
});

test('bad input: garbage bytes on a connection are counted, the calls after them still found', async () => {
  await withDir(async (root) => {
    const cap = new SyntheticCapture();
    const k = cap.connect(ep('a', 1, 5000), ep('a', 2, 80));
    cap.message(k, true, new Uint8Array([0x16, 0x03, 0x01, 0xff, 0x00, 0x42]), 0n, 1000n, 1, 2);
    cap.http(k, { t: 1n * ms, tResp: 2n * ms, clientTid: 1, serverTid: 2, path: '/after' });
    const dirs = await cap.write(root, ['a']);
    const s = await analyzeCaptures({ captureDirs: dirs, out: join(root, 'out') });
    assert.equal(s.spans, 2);
    assert.equal(s.edges, 1);
    const w = s.warnings.find((x) => x.code === 'http-invalid');
    assert.ok(w, JSON.stringify(s.warnings));
    assert.equal(w.count, 12); // 6 garbage bytes seen from each end
  });
});

test('bad input: nodes with no call between them cannot be aligned: a warning, times kept', async () => {
  await withDir(async (root) => {
    const cap = new SyntheticCapture();
    const k1 = cap.connect(ep('a', 1, 5000), ep('a', 2, 80));
    const k2 = cap.connect(ep('b', 3, 5001), ep('b', 4, 81));
    cap.http(k1, { t: 1n * ms, tResp: 2n * ms, clientTid: 1, serverTid: 2, path: '/a' });
    cap.http(k2, { t: 1n * ms, tResp: 2n * ms, clientTid: 3, serverTid: 4, path: '/b' });
    const dirs = await cap.write(root, ['a', 'b']);
    const s = await analyzeCaptures({ captureDirs: dirs, out: join(root, 'out') });
    assert.equal(s.traces, 2);
    assert.deepEqual(codes(s.warnings), ['clock-unaligned']);
    assert.equal(s.clocks[1]!.method, 'unaligned');
  });
});
