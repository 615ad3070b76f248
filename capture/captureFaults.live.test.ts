/**
 * Live captures across network namespaces and under faults: bad input, missing privileges, kill -9, a full disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { nitrace, startCapture, startHttpServer, query, run, isRoot, PYTHON, HTTP_PAIR, NITRACE, type ClientLogEntry } from '../testing/liveTestHelpers.js';
import type { CaptureManifest } from './manifest.js';

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as CaptureManifest;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

test('two network namespaces as two nodes, one agent each (--netns): each sees its own side, sequences line up', { skip, timeout: 300_000 }, async () => {
  const tag = `nt${process.pid % 10000}`;
  const [nsA, nsB] = [`${tag}a`, `${tag}b`];
  const sub = 10 + (process.pid % 200);
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-netns-'));
  let server: Awaited<ReturnType<typeof startHttpServer>> | null = null;
  try {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', `${tag}va`, 'type', 'veth', 'peer', 'name', `${tag}vb`);
    ip('link', 'set', `${tag}va`, 'netns', nsA);
    ip('link', 'set', `${tag}vb`, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `10.253.${sub}.1/24`, 'dev', `${tag}va`);
    ip('-n', nsB, 'addr', 'add', `10.253.${sub}.2/24`, 'dev', `${tag}vb`);
    for (const [ns, dev] of [[nsA, `${tag}va`], [nsB, `${tag}vb`]] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    const inode = (ns: string) => Number(execFileSync('ip', ['netns', 'exec', ns, 'stat', '-L', '-c', '%i', '/proc/self/ns/net'], { encoding: 'utf8' }).trim());
    const [inoA, inoB] = [inode(nsA), inode(nsB)];
    server = await startHttpServer(`10.253.${sub}.2`, ['ip', 'netns', 'exec', nsB]);
    const capA = await startCapture(['--out', join(dir, 'a'), '--netns', String(inoA), '--node', 'node-a']);
    const capB = await startCapture(['--out', join(dir, 'b'), '--netns', String(inoB), '--node', 'node-b']);
    const log = join(dir, 'client.json');
    const client = await run(['ip', 'netns', 'exec', nsA, PYTHON, HTTP_PAIR, 'client', '--host', `10.253.${sub}.2`, '--port', String(server.port), '--log', log, '--scenario', 'keepalive']);
    assert.equal(client.code, 0, client.stderr);
    const [ra, rb] = [await capA.stop(), await capB.stop()];
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(manifestOf(join(dir, 'a')).status, 'interrupted');
    const [conn] = JSON.parse(readFileSync(log, 'utf8')) as ClientLogEntry[];
    const a = `read_parquet('${dir}/a/events/*.parquet')`;
    const b = `read_parquet('${dir}/b/events/*.parquet')`;
    const [[nodesA, netnsA, sentA]] = await query<[string[], bigint, bigint]>(`SELECT list(DISTINCT node), max(netns), sum(bytes) FILTER (direction = 'send' AND local_port = ${conn!.local_port}) FROM ${a}`);
    const [[nodesB, netnsB, recvB]] = await query<[string[], bigint, bigint]>(`SELECT list(DISTINCT node), max(netns), sum(bytes) FILTER (direction = 'recv' AND remote_port = ${conn!.local_port}) FROM ${b}`);
    assert.deepEqual([...(nodesA as unknown as { items: string[] }).items], ['node-a']);
    assert.deepEqual([...(nodesB as unknown as { items: string[] }).items], ['node-b']);
    assert.equal(Number(netnsA), inoA);
    assert.equal(Number(netnsB), inoB);
    assert.equal(Number(sentA), conn!.sent);
    assert.equal(Number(recvB), conn!.sent);
    const [[onlyA]] = await query<[bigint]>(`SELECT count(*) FROM ${a} WHERE local_addr <> '10.253.${sub}.1' AND event <> 'accept'`);
    assert.equal(Number(onlyA), 0, 'node-a holds only the client side');
    const unmatched = await query(`SELECT tcp_seq FROM ${a} WHERE direction = 'send' EXCEPT SELECT tcp_seq FROM ${b} WHERE direction = 'recv'`);
    assert.deepEqual(unmatched, [], 'TCP sequence numbers join the two nodes');
  } finally {
    server?.stop();
    for (const ns of [nsA, nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: non-empty --out, unknown flag, bad --snaplen: usage errors with exit 2 and nothing written', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-bad-'));
  try {
    writeFileSync(join(dir, 'keep.txt'), 'user data');
    let r = await nitrace(['capture', '--out', dir, '--duration', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not empty.*--force/);
    assert.deepEqual(readdirSync(dir), ['keep.txt']);
    r = await nitrace(['capture', '--out', join(dir, 'x'), '--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown argument: bogus/);
    r = await nitrace(['capture', '--out', join(dir, 'y'), '--snaplen', '99999']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--snaplen must be an integer from 0 to 65536/);
    for (const bad of ['5672', '5672=70000', '0=100', 'x=1']) {
      r = await nitrace(['capture', '--out', join(dir, 'w'), '--snaplen-port', bad]);
      assert.equal(r.code, 2, `--snaplen-port ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--snaplen-port/);
    }
    r = await nitrace(['capture', '--out', join(dir, 'z'), '--port', '70000']);
    assert.equal(r.code, 2);
    assert.deepEqual(readdirSync(dir), ['keep.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not root: one clear message, exit 3', { skip: isRoot ? false : 'run as root to switch to an unprivileged user', timeout: 60_000 }, async () => {
  // A new user namespace makes nitrace run as uid 65534 with no capability in the host's namespace, while still
  // reading the checkout as its owner: the test works wherever the checkout is (a 0700 directory, a path with
  // spaces), unlike switching to the nobody user, who cannot read a checkout in a 0700 directory.
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-nonroot-'));
  try {
    const r = await nitrace(['capture', '--out', join(dir, 'cap'), '--duration', '1'], { prefix: ['unshare', '--user'] });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /needs root/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * kill -9 of the capture at a moment of the test's choosing: segments are written every second, so a kill lands
 * while a segment is being written, the manifest rewritten, or between them.
 */
async function killAndRecover(dir: string, port: number, delayMs: number): Promise<void> {
  const out = join(dir, `cap-${delayMs}`);
  const cap = await startCapture(['--out', out, '--port', String(port), '--segment-seconds', '1']);
  const client = spawn(PYTHON, [HTTP_PAIR, 'client', '--port', String(port), '--log', join(dir, 'log.json'), '--scenario', 'bulk', '--count', '1000000'], { stdio: 'ignore' });
  try {
    // At least one segment closed, then the chosen extra delay: the kill may hit any step of the next one.
    for (let waited = 0; !readdirSync(join(out, 'events')).some((f) => /^seg-\d+\.parquet$/.test(f)); waited += 100) {
      assert.ok(waited < 120_000, 'a first segment within 2 minutes');
      await sleep(100);
    }
    await sleep(delayMs);
    cap.child.kill('SIGKILL');
    await cap.stop('SIGKILL');
  } finally {
    client.kill('SIGKILL');
  }
  // No wait here: the agent outlives the capture for a while (it notices, drains, writes its final counters,
  // detaches its probes), and capture-recover itself waits for it, however loaded the machine.
  assert.equal(manifestOf(out).status, 'running', 'the manifest shows the capture never finished');
  const r = await nitrace(['capture-recover', out]);
  assert.equal(r.code, 0, r.stderr);
  const m = manifestOf(out);
  assert.equal(m.status, 'recovered');
  const files = readdirSync(join(out, 'events')).filter((f) => f !== 'quarantine');
  assert.deepEqual(files, m.segments.map((s) => s.file.slice('events/'.length)), `only listed segments remain (${r.stderr})`);
  assert.ok(files.length >= 1);
  for (const f of files) {
    const [[n]] = await query<[bigint]>(`SELECT count(*) FROM read_parquet('${join(out, 'events', f)}')`);
    assert.ok(Number(n) > 0, `${f} reads back`);
  }
  const [[rows]] = await query<[bigint]>(`SELECT count(*) FROM read_parquet('${out}/events/*.parquet')`);
  assert.equal(Number(rows), m.events.written);
  assert.match(r.stderr, /agent counters: final/, 'the agent wrote its final counters although its pipe broke');
  assert.ok(m.counters.agent_records >= m.events.written, `final counters count every written event (${m.counters.agent_records} < ${m.events.written})`);
  assert.ok(m.losses.unflushed !== null && m.losses.unflushed >= 0);
  assert.equal(m.events.written + m.losses.unflushed!, m.counters.agent_records, 'every forwarded event is either written or counted as lost');
  assert.match(r.stderr, /unflushed \d+/);
}

test('kill -9 of the capture at any moment: every segment left reads back or is removed, capture-recover accounts for the rest', { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-kill-'));
  const server = await startHttpServer();
  try {
    // Three moments within the segment cycle (seeded: the same on every run).
    for (const delayMs of [0, 370, 820]) await killAndRecover(dir, server.port, delayMs);
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk full: the capture stops with a clear error, earlier segments intact', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-full-'));
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
  const server = await startHttpServer();
  try {
    const out = join(mnt, 'cap');
    const r = await nitrace(['capture', '--out', out, '--port', String(server.port), '--snaplen', '8192', '--segment-mb', '1', '--',
      PYTHON, HTTP_PAIR, 'client', '--port', String(server.port), '--log', join(dir, 'log.json'), '--scenario', 'bulk', '--count', '3000']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /disk full while writing/);
    assert.doesNotMatch(r.stderr, /internal error/);
    for (const s of readdirSync(join(out, 'events')).filter((f) => /^seg-\d+\.parquet$/.test(f))) {
      const [[n]] = await query<[bigint]>(`SELECT count(*) FROM read_parquet('${join(out, 'events', s)}')`);
      assert.ok(Number(n) > 0, `${s} is intact`);
    }
  } finally {
    server.stop();
    execFileSync('umount', ['-l', mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
});

void NITRACE;
