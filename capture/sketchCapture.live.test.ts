/**
 * Sketch mode on the real kernel (root): the same workload captured in full and in sketch mode at once. The
 * in-kernel counts must equal what the full capture saw, and the in-kernel latency histogram must agree with the
 * latencies of the spans that `nitrace analyze` rebuilds from the full capture, within one log2 bucket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { nitrace, run, startHttpServer, startCapture, query, isRoot, PYTHON, HTTP_PAIR } from '../testing/liveTestHelpers.js';
import { bucketOf } from './sketchDrain.js';
import { SKETCH_FINAL_FILE } from './sketchCapture.js';
import type { SketchManifest } from './sketchManifest.js';

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';

test('sketch mode: counts equal a full capture of the same traffic, latency histogram within one bucket of the spans', { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace sketch live '));
  const server = await startHttpServer();
  try {
    const P = String(server.port);
    const sk = join(dir, 'sketch');
    const full = join(dir, 'full');
    const sketch = await startCapture(['--mode', 'sketch', '--out', sk, '--port', P, '--drain-seconds', '0.5']);
    const r = await nitrace(['capture', '--out', full, '--port', P, '--', PYTHON, HTTP_PAIR, 'client', '--port', P, '--log', join(dir, 'client.json')]);
    assert.equal(r.code, 0, r.stderr);
    const stopped = await sketch.stop('SIGINT');
    assert.equal(stopped.code, 0, stopped.stderr);
    const manifest = JSON.parse(readFileSync(join(sk, 'manifest.json'), 'utf8')) as SketchManifest;
    assert.equal(manifest.status, 'complete');
    assert.ok(manifest.drains.length >= 2, 'periodic drains and a final one');
    assert.equal(manifest.drains.at(-1)!.final, true);
    assert.equal(manifest.counters.conn_map_full, 0);
    assert.ok(!existsSync(join(sk, SKETCH_FINAL_FILE)), 'the agent\'s copy of the final drain is removed once it is in Parquet');
    const last = String(manifest.drains.at(-1)!.seq).padStart(6, '0');
    const procs = `read_parquet('${sk}/sketch/drain-${last}-procs.parquet')`;
    const conns = `read_parquet('${sk}/sketch/drain-${last}-conns.parquet')`;
    const latency = `read_parquet('${sk}/sketch/drain-${last}-latency.parquet')`;
    const events = `read_parquet('${full}/events/*.parquet')`;

    // Calls and bytes per process and direction: the kernel's totals equal the full capture's data events.
    const fromEvents = await query<[number, string, bigint, bigint]>(`SELECT pid, direction, count(*), sum(bytes) FROM ${events}
      WHERE event = 'data' AND bytes > 0 GROUP BY ALL ORDER BY ALL`);
    const fromSketch = await query<[number, string, bigint, bigint]>(`SELECT pid, d, sum(calls), sum(bytes) FROM (
        SELECT pid, 'send' d, send_calls calls, send_bytes bytes FROM ${procs} UNION ALL SELECT pid, 'recv', recv_calls, recv_bytes FROM ${procs})
      WHERE calls > 0 GROUP BY ALL ORDER BY ALL`);
    assert.deepEqual(fromSketch.map(([p, d, c, b]) => [Number(p), d, Number(c), Number(b)]), fromEvents.map(([p, d, c, b]) => [Number(p), d, Number(c), Number(b)]));
    // Per connection too: every connection the full capture saw, with the same byte totals (client side by port).
    const connBytes = await query<[bigint, bigint, bigint]>(`SELECT local_port, sum(send_bytes), sum(recv_bytes) FROM ${conns} WHERE role = 'client' GROUP BY ALL ORDER BY ALL`);
    const eventBytes = await query<[number, bigint, bigint]>(`SELECT local_port, sum(bytes) FILTER (direction = 'send'), sum(bytes) FILTER (direction = 'recv')
      FROM ${events} WHERE event = 'data' AND remote_port = ${P} GROUP BY ALL ORDER BY ALL`);
    assert.deepEqual(connBytes.map((x) => x.map(Number)), eventBytes.map((x) => x.map(Number)));

    // Exchanges and latency: spans rebuilt from the full capture against the in-kernel histogram.
    const a = await nitrace(['analyze', full, '--out', join(dir, 'analysis'), '--quiet']);
    assert.equal(a.code, 0, a.stderr);
    const spans = `read_parquet('${join(dir, 'analysis', 'spans.parquet')}')`;
    for (const role of ['client', 'server']) {
      const lat = (await query<[bigint]>(`SELECT end_ns - start_ns FROM ${spans} WHERE kind = '${role}' AND status IS NOT NULL`)).map(([x]) => Number(x));
      const fromSpans = lat.map(bucketOf).sort((x, y) => x - y);
      const fromKernel = (await query<[bigint, bigint]>(`SELECT bucket, count FROM ${latency} WHERE scope = 'process' AND role = '${role}' ORDER BY bucket`))
        .flatMap(([b, n]) => Array<number>(Number(n)).fill(Number(b)));
      assert.equal(fromKernel.length, fromSpans.length, `${role}: exchanges in kernel vs spans`);
      const far = fromKernel.filter((b, i) => Math.abs(b - fromSpans[i]!) > 1);
      assert.deepEqual(far, [], `${role}: kernel buckets ${fromKernel.join(',')} vs span buckets ${fromSpans.join(',')}`);
    }
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sketch mode, kill -9 of the capture: the agent still writes the totals of the whole capture (agent-final.json)', { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace sketch kill '));
  const server = await startHttpServer();
  try {
    const P = String(server.port);
    const sk = join(dir, 'sketch');
    // long drain interval: no periodic drain happens, so the totals exist only in the agent's final drain
    const cap = await startCapture(['--mode', 'sketch', '--out', sk, '--port', P, '--drain-seconds', '3600']);
    const r = await run([PYTHON, HTTP_PAIR, 'client', '--port', P, '--log', join(dir, 'client.json')]);
    assert.equal(r.code, 0, r.stderr);
    const agentPid = (JSON.parse(readFileSync(join(sk, 'manifest.json'), 'utf8')) as SketchManifest).agent!.pid;
    await cap.stop('SIGKILL');
    // PDEATHSIG stops the agent: it drains once more into agent-final.json, then fails to send it to dead Node
    // (EPIPE, SIGPIPE ignored) and exits
    for (let i = 0; i < 300 && (alive(agentPid) || !existsSync(join(sk, SKETCH_FINAL_FILE))); i++) await sleep(100);
    assert.ok(!alive(agentPid), 'the sketch agent outlived its capture');
    const final = JSON.parse(readFileSync(join(sk, SKETCH_FINAL_FILE), 'utf8')) as { final: boolean; counters: Record<string, number>; procs: { send_calls: number; recv_calls: number }[] };
    assert.equal(final.final, true);
    const calls = final.procs.reduce((n, p) => n + p.send_calls + p.recv_calls, 0);
    assert.ok(calls > 0, 'no socket calls in the final drain');
    assert.equal(final.counters.socket_calls, calls);
    assert.equal((JSON.parse(readFileSync(join(sk, 'manifest.json'), 'utf8')) as SketchManifest).status, 'running', 'Node was killed: nothing else finished the manifest');
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sketch mode, kill -9 of the agent mid-run: the drains already written stay readable, the manifest states the loss', { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace sketch agent kill '));
  const server = await startHttpServer();
  try {
    const P = String(server.port);
    const sk = join(dir, 'sketch');
    const cap = await startCapture(['--mode', 'sketch', '--out', sk, '--port', P, '--drain-seconds', '0.3']);
    const r = await run([PYTHON, HTTP_PAIR, 'client', '--port', P, '--log', join(dir, 'client.json')]);
    assert.equal(r.code, 0, r.stderr);
    const manifestNow = () => JSON.parse(readFileSync(join(sk, 'manifest.json'), 'utf8')) as SketchManifest;
    // a drain taken after the workload ended: it holds all of the workload's calls
    const after = BigInt(Date.now()) * 1_000_000n;
    for (let i = 0; i < 100 && !manifestNow().drains.some((d) => BigInt(d.realtime_ns) > after); i++) await sleep(100);
    process.kill(manifestNow().agent!.pid, 'SIGKILL');
    const stopped = await cap.stop('SIGINT'); // it stops by itself once the agent is gone; SIGINT only if not
    assert.notEqual(stopped.code, 0, 'a capture that lost its agent must not report success');
    const m = manifestNow();
    assert.equal(m.status, 'failed');
    assert.ok(m.drains.length >= 1 && !m.drains.some((d) => d.final), 'periodic drains, no final one');
    assert.ok(m.loss, 'the manifest states the loss');
    assert.match(m.loss.cause, /SIGKILL/);
    const last = m.drains.at(-1)!;
    assert.deepEqual(m.loss.counted_until, { drain_seq: last.seq, realtime_ns: last.realtime_ns });
    assert.match(m.loss.missing, new RegExp(`after drain ${last.seq}\\b`));
    // the last drain's files read back and agree with the manifest's counters of that drain
    const seq = String(last.seq).padStart(6, '0');
    const [[calls]] = await query<[bigint]>(`SELECT sum(send_calls + recv_calls) FROM read_parquet('${sk}/sketch/drain-${seq}-procs.parquet')`);
    assert.ok(Number(calls) > 0, 'no socket calls in the drains written before the kill');
    assert.equal(Number(calls), m.counters.socket_calls);
    const client = JSON.parse(readFileSync(join(dir, 'client.json'), 'utf8')) as { requests: unknown[] }[];
    const [[exchanges]] = await query<[bigint]>(`SELECT sum(exchanges) FROM read_parquet('${sk}/sketch/drain-${seq}-procs.parquet') WHERE role = 'client'`);
    assert.equal(Number(exchanges), client.reduce((n, s) => n + s.requests.length, 0), 'client exchanges = the requests the client made');
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
