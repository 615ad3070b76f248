/**
 * loadClient: one block of HTTP load against one OpenStack API, latency measured here, in the client.
 *
 *   node dist/bench/openstack/loadClient.js '<LoadSpec JSON>'      (started by openstackBench.ts, one per block)
 *
 * Two modes:
 * - `rate`: open loop at a fixed rate (wrk2-style). Request k is due at t0 + k/rate whatever happened before it, and
 *   its latency runs from when it was DUE, not from when it was sent: if the client or the machine falls behind,
 *   that delay counts (no coordinated omission).
 * - `closed`: `concurrency` loops that each send the next request when the previous one is answered (saturation).
 *
 * Why not a packaged load generator (each checked on this machine, 2026-11-30):
 *   loadtest 8.2.1 (npm, `--rps` is open loop) truncates every latency to whole milliseconds
 *   (`Number(elapsedNs / 1000000n)`), 3-10 % of a glance/nova p50 here; hey 0.1.4 (Debian) rate-limits each worker
 *   with its own ticker started at the same instant (requests go out in bursts) and stays closed loop per worker;
 *   httperf 0.9.0 (Debian) is open loop but busy-polls (65 % of a core at 200 req/s measured here, on a 2-core
 *   machine shared with the lab) and reports latency only as 1 ms histogram bins; wrk (Debian) is closed loop and
 *   wrk2 is not packaged; autocannon (npm) caps a closed loop (coordinated omission).
 *
 * The warm-up is excluded: throughput counts answers completed inside [warmup, warmup + seconds); latencies are those
 * of requests due (rate) or sent (closed) inside that window. Prints one JSON line (LoadResult) on stdout, and
 * "window-start" / "window-end" lines before it, so the caller can read /proc CPU counters at the same moments.
 */
import { request, Agent } from 'node:http';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Status codes that count as success. */
  ok: number[];
  mode: 'rate' | 'closed';
  /** Requests per second (mode rate). */
  rate?: number;
  /** Concurrent request loops (mode closed). */
  concurrency?: number;
  warmupSeconds: number;
  seconds: number;
  timeoutMs: number;
}

export interface LoadResult {
  mode: 'rate' | 'closed';
  window_seconds: number;
  /** Successful answers completed inside the window, per second. */
  throughput: number;
  /** Latencies (ms) of successful requests started/due inside the window, unsorted. */
  latencies_ms: number[];
  sent: number;
  errors: Record<string, number>;
  /** mode rate: how late the client sent requests after they were due (ms): p99 and max (client health). */
  send_lag_ms: { p99: number; max: number } | null;
  /** CPU time of this client process inside the window. */
  client_cpu_ns: number;
}

const agent = new Agent({ keepAlive: false }); // a new connection per request, as the CLI and uWSGI's "Connection: close" do

function once(spec: LoadSpec): Promise<{ status: number | string }> {
  return new Promise((resolve) => {
    const req = request(spec.url, { method: spec.method, headers: spec.headers, agent, timeout: spec.timeoutMs }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (e) => resolve({ status: `response: ${e.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: e.message === 'timeout' ? 'timeout' : `connection: ${(e as NodeJS.ErrnoException).code ?? e.message}` }));
    if (spec.body) req.end(spec.body);
    else req.end();
  });
}

export async function runLoad(spec: LoadSpec, mark: (what: 'window-start' | 'window-end') => void = () => {}): Promise<LoadResult> {
  const now = (): number => Number(process.hrtime.bigint()) / 1e6; // ms
  const t0 = now();
  const winStart = t0 + spec.warmupSeconds * 1000;
  const winEnd = winStart + spec.seconds * 1000;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const lags: number[] = [];
  let completedInWindow = 0;
  let sent = 0;
  let cpuAtStart: NodeJS.CpuUsage | null = null;
  let cpuNs = 0;
  const inflight = new Set<Promise<void>>();

  const issue = (startedAt: number): Promise<void> => {
    sent++;
    const p = once(spec).then(({ status }) => {
      const done = now();
      const good = typeof status === 'number' && spec.ok.includes(status);
      if (good && done >= winStart && done < winEnd) completedInWindow++;
      if (startedAt >= winStart && startedAt < winEnd) {
        if (good) latencies.push(done - startedAt);
        else errors[String(status)] = (errors[String(status)] ?? 0) + 1;
      }
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    return p;
  };

  const windowTimers = [
    setTimeout(() => {
      cpuAtStart = process.cpuUsage();
      mark('window-start');
    }, winStart - now()),
    setTimeout(() => {
      const d = process.cpuUsage(cpuAtStart ?? undefined);
      cpuNs = (d.user + d.system) * 1000;
      mark('window-end');
    }, winEnd - now()),
  ];

  if (spec.mode === 'rate') {
    const interval = 1000 / spec.rate!;
    let k = 0;
    await new Promise<void>((finished) => {
      const tick = (): void => {
        const t = now();
        // send everything that is due (catches up after a late timer; each keeps its due time)
        for (let due = t0 + k * interval; due <= t && due < winEnd; due = t0 + ++k * interval) {
          if (due >= winStart) lags.push(t - due);
          void issue(due);
        }
        if (t0 + k * interval >= winEnd) return finished();
        setTimeout(tick, Math.max(0, t0 + k * interval - now()));
      };
      tick();
    });
  } else {
    const loop = async (): Promise<void> => {
      while (now() < winEnd) await issue(now());
    };
    await Promise.all(Array.from({ length: spec.concurrency! }, loop));
  }
  await Promise.all([...inflight]);
  const late = Math.max(0, winEnd - now());
  if (late > 0) await new Promise((r) => setTimeout(r, late)); // the window-end mark fires before we return
  windowTimers.forEach(clearTimeout);
  if (!cpuNs) {
    const d = process.cpuUsage(cpuAtStart ?? undefined);
    cpuNs = (d.user + d.system) * 1000;
  }
  lags.sort((a, b) => a - b);
  return {
    mode: spec.mode,
    window_seconds: spec.seconds,
    throughput: completedInWindow / spec.seconds,
    latencies_ms: latencies,
    sent,
    errors,
    send_lag_ms: spec.mode === 'rate' && lags.length ? { p99: lags[Math.floor(0.99 * (lags.length - 1))]!, max: lags[lags.length - 1]! } : null,
    client_cpu_ns: cpuNs,
  };
}

// As a child process: the spec on argv, marks and the result on stdout.
if (process.argv[1]?.endsWith('loadClient.js')) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  runLoad(spec, (m) => process.stdout.write(m + '\n'))
    .then((r) => process.stdout.write(JSON.stringify(r) + '\n'))
    .catch((e: unknown) => {
      console.error(`loadClient: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    });
}
