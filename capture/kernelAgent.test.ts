/**
 * KernelAgent's plumbing with a stand-in agent (no kernel needed): records through the pipe it makes, pausing,
 * and `exited` only after the last record is read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { KernelAgent, type AgentConfig } from './kernelAgent.js';

/** Writes `bulk` bytes at once, the last `tail` bytes when told to stop (SIGTERM), like capture/agent.py draining. */
const FAKE_AGENT = `
import { writeSync } from 'node:fs';
const cfg = JSON.parse(process.argv[2]);
const bytes = (from, n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = ((from + i) * 131 + 7) & 0xff; return b; };
const clock = { when: 'now', realtime_ns: '2', monotonic_ns: '1', uncertainty_ns: 0 };
writeSync(3, JSON.stringify({ type: 'ready', pid: process.pid, clock, probes: 7 }) + '\\n');
process.on('SIGTERM', () => {
  writeSync(1, bytes(cfg.bulk, cfg.tail));
  writeSync(3, JSON.stringify({ type: 'stopped', clock }) + '\\n');
  process.exit(0);
});
for (let at = 0; at < cfg.bulk; at += 100_000) writeSync(1, bytes(at, Math.min(100_000, cfg.bulk - at)));
setInterval(() => {}, 1000);
`;

const expected = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
};

test('records arrive whole and in order through one reused read buffer; pause holds them; exited waits for the last', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-agent-'));
  try {
    const script = join(dir, 'agent.mjs');
    writeFileSync(script, FAKE_AGENT);
    const bulk = 3_000_000;
    const tail = 500_000;
    const cfg = { bulk, tail } as unknown as AgentConfig;
    const got: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    let received = 0;
    let agent: KernelAgent | null = null;
    let paused = false;
    let pausedOnce = false;
    let whilePaused = 0;
    const onData = (chunk: Buffer): void => {
      got.push(Buffer.from(chunk)); // a chunk is valid only during the call
      memory.add(chunk.buffer);
      received += chunk.length;
      if (paused) whilePaused += chunk.length;
      if (agent && !pausedOnce && received >= 1_000_000 && received < bulk) {
        agent.pause(true);
        paused = pausedOnce = true;
      }
    };
    agent = await KernelAgent.start(cfg, onData, [process.execPath, script]);
    assert.equal(agent.probes, 7);
    while (!paused) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(whilePaused, 0, 'no records while paused');
    assert.ok(received < bulk);
    paused = false;
    agent.pause(false);
    const code = await agent.stop();
    assert.equal(code, 0);
    assert.ok(Buffer.concat(got).equals(expected(bulk + tail)), 'every byte, in order, when exited resolves');
    assert.notEqual(agent.stopClock, null);
    assert.equal(memory.size, 1, 'one read buffer for every read');
    assert.ok(got.length > 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an agent that cannot start is an error, and its pipe is closed', async () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  await assert.rejects(KernelAgent.start({} as AgentConfig, () => {}, ['/nonexistent/python3', 'agent.py']), /cannot start \/nonexistent\/python3/);
  for (let i = 0; i < 100 && fds() > before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(fds(), before);
});
