/** Waiting for the end of a capture, without root: real child processes, real signals (capture/waitForEnd.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForEnd, type EndConditions } from './waitForEnd.js';

const never = new Promise<void>(() => {});
function conditions(over: Partial<EndConditions>): EndConditions {
  return { command: [], duration: 0, agentExited: never, failure: () => null, fail: () => {}, tick: () => {}, tickMs: 20, log: () => {}, ...over };
}

test('waitForEnd: the command exits -> its exit code', async () => {
  assert.deepEqual(await waitForEnd(conditions({ command: ['sh', '-c', 'exit 3'] })), { exitCode: 3, interrupted: false });
});

test('waitForEnd: --duration without a command; with a command it sends SIGTERM (exit 128 + 15)', async () => {
  const t0 = Date.now();
  assert.deepEqual(await waitForEnd(conditions({ duration: 0.2 })), { exitCode: 0, interrupted: false });
  assert.ok(Date.now() - t0 >= 180);
  assert.deepEqual(await waitForEnd(conditions({ duration: 0.2, command: ['sleep', '30'] })), { exitCode: 143, interrupted: false });
});

test('waitForEnd: SIGINT is passed to the command, whose exit ends the wait; without a command it ends it at once', async () => {
  const pending = waitForEnd(conditions({ command: ['sleep', '30'] }));
  setTimeout(() => process.emit('SIGINT', 'SIGINT'), 200);
  assert.deepEqual(await pending, { exitCode: 130, interrupted: true });
  const alone = waitForEnd(conditions({}));
  setTimeout(() => process.emit('SIGTERM', 'SIGTERM'), 50);
  assert.deepEqual(await alone, { exitCode: 0, interrupted: true });
  assert.equal(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM'), 0, 'handlers removed');
});

test('waitForEnd: a command that cannot run -> 127 and a failure; an agent exit or a failure ends the wait', async () => {
  const failures: string[] = [];
  const r = await waitForEnd(conditions({ command: ['/nonexistent/cmd'], fail: (m) => failures.push(m) }));
  assert.equal(r.exitCode, 127);
  assert.match(failures[0]!, /cannot run \/nonexistent\/cmd/);
  assert.deepEqual(await waitForEnd(conditions({ agentExited: Promise.resolve() })), { exitCode: 0, interrupted: false });
  let ticks = 0;
  let failed: string | null = null;
  setTimeout(() => (failed = 'disk full'), 100);
  const t0 = Date.now();
  await waitForEnd(conditions({ command: ['sleep', '30'], failure: () => failed, tick: () => ticks++ }));
  assert.ok(ticks >= 2, 'ticks while waiting');
  assert.ok(Date.now() - t0 < 10_000, 'a failure ends the wait without waiting for the command (it gets SIGTERM)');
});
