/**
 * The capture agent's probe switch used by `make bench` (bench/captureBench.ts, hooked_socket_syscall_interleaved):
 * SIGUSR1 to capture/agent.py detaches the two socket-layer probes, SIGUSR2 attaches them again, within one running
 * capture. Real kernel, real traffic (bench/syscall_loop.c under a name of its own), root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../core/version.js';
import { startCapture, query, isRoot } from '../testing/liveTestHelpers.js';

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';

/** The capture/agent.py process below `root` (node -> python agent -> consumer). */
function findAgent(root: number): number {
  const children = (pid: number): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  for (const queue = [root]; queue.length; ) {
    const pid = queue.shift()!;
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent.py')) return pid;
    queue.push(...children(pid));
  }
  throw new Error(`no capture/agent.py below process ${root}`);
}

/** The socket-layer probes `pid` holds attached (raw tracepoint link fds naming sock_send_length/sock_recv_length). */
function socketProbes(pid: number): number {
  return readdirSync(`/proc/${pid}/fdinfo`).filter((fd) => {
    try {
      return /^tp_name:\s+sock_(send|recv)_length$/m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    } catch {
      return false;
    }
  }).length;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let waited = 0; !ok(); waited += 20) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('SIGUSR1 pauses the socket probes of a running capture, SIGUSR2 resumes them (make bench)', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pause-'));
  try {
    const loop = join(dir, 'pause_loop'); // the capture traces this name only
    execFileSync('cc', ['-O2', '-pthread', '-o', loop, join(packageRoot, 'bench', 'syscall_loop.c')]);
    const out = join(dir, 'cap');
    const cap = await startCapture(['--out', out, '--comm', 'pause_loop', '--snaplen', '64', '--no-greenlet', '--force']);
    let pausedFrom = 0n;
    let pausedTo = 0n;
    try {
      const agent = findAgent(cap.child.pid!);
      assert.equal(socketProbes(agent), 2);
      execFileSync(loop, ['tcp', '1000', '256']); // 2 000 socket syscalls, traced
      process.kill(agent, 'SIGUSR1');
      await until('the socket probes to be detached', () => socketProbes(agent) === 0);
      pausedFrom = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of the events' mono_ns
      execFileSync(loop, ['tcp', '1000', '256']); // not traced
      pausedTo = process.hrtime.bigint();
      process.kill(agent, 'SIGUSR2');
      await until('the socket probes to be attached again', () => socketProbes(agent) === 2);
      execFileSync(loop, ['tcp', '500', '256']); // 1 000 socket syscalls, traced
    } finally {
      const r = await cap.stop();
      assert.equal(r.code, 0, r.stderr);
    }
    const events = `read_parquet('${out}/events/*.parquet')`;
    const [[total, during]] = await query<[bigint, bigint]>(`SELECT count(*), count(*) FILTER (mono_ns BETWEEN ${pausedFrom} AND ${pausedTo})
      FROM ${events} WHERE event = 'data' AND comm = 'pause_loop'`);
    assert.equal(Number(during), 0, 'no socket data event while paused');
    // one event per write and per read (a short read on loopback would add one)
    assert.ok(Number(total) >= 3000 && Number(total) <= 3010, `3 000 data events before and after the pause, got ${total}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
