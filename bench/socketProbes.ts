/**
 * Switching a running capture's data-path probes off and on (capture/agent.py: SIGUSR1 detaches the two
 * socket-layer probes, SIGUSR2 attaches the same programs again). Benchmarks use it to alternate probes-off /
 * probes-on every fraction of a second inside one capture, or between two loaded captures: the lab VM's own speed
 * drifts by 20-50 % over seconds, and loading a capture takes seconds (docs/benchmarks.md).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The capture's kernel agent (capture/agent.py) among its processes. */
export function agentPid(pids: readonly number[]): number | undefined {
  return pids.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent.py');
    } catch {
      return false;
    }
  });
}

/** How many of the data path's two socket-layer probes `pid` holds attached (its raw tracepoint links' fdinfo). */
export function socketProbesAttached(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      if (/^tp_name:\s+sock_(send|recv)_length$/m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))) n++;
    } catch {
      // fd closed meanwhile
    }
  }
  return n;
}

/** Switch the capture's socket-layer probes off or on and wait until the agent's links show it. */
export async function setSocketProbes(agent: number, on: boolean): Promise<void> {
  process.kill(agent, on ? 'SIGUSR2' : 'SIGUSR1');
  for (let waited = 0; socketProbesAttached(agent) !== (on ? 2 : 0); waited += 10) {
    if (waited > 10_000) throw new Error(`capture agent ${agent} did not ${on ? 'attach' : 'detach'} its socket probes within 10 s`);
    await sleep(10);
  }
}
