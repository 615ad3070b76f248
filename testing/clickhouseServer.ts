/**
 * Real `clickhouse-server` processes for tests and benches: loopback only, free ports, a fresh temporary data
 * directory each, stopped (and their directory removed) by `stop()`. Debian 12 ships ClickHouse 18.16
 * (scripts/setup-clickhouse.sh installs it); its configuration root is `<yandex>`, which newer servers still accept.
 * A cluster is N such servers whose configs all list the same `remote_servers` entry, one shard per server, so a
 * Distributed table on any of them spreads over all. No ZooKeeper: DDL is sent to each server (store/cluster.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ClickHouseServer {
  /** HTTP endpoint, e.g. http://127.0.0.1:41234 */
  url: string;
  httpPort: number;
  /** native protocol port (what `remote_servers` names) */
  tcpPort: number;
  dir: string;
  /** The server's own error log, for test failure messages. */
  errorLog(): string;
  /** Runs SQL over plain HTTP (independent of the store's client): JSONEachRow rows, 64-bit integers as strings. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Runs a statement without a result (DDL). */
  exec(sql: string): Promise<void>;
  /** The server process's peak resident memory so far (VmHWM), MB; for benches. */
  peakRssMb(): number | null;
  stop(): Promise<void>;
}

export interface ClickHouseCluster {
  /** The cluster name in every server's `remote_servers` (what `nitrace store --cluster` takes). */
  name: string;
  servers: ClickHouseServer[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A test that throws past its `finally` must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The clickhouse-server binary, or a clear error naming the setup script. */
export function clickhouseServerBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = join(d, 'clickhouse-server');
    if (d && existsSync(p)) return p;
  }
  throw new Error('clickhouse-server not found: run `bash scripts/setup-clickhouse.sh` (as root; `make test` does)');
}

/** One server on its own. */
export async function startClickHouseServer(): Promise<ClickHouseServer> {
  const [server] = await startServers(1, null);
  return server!;
}

/** `shards` servers forming the cluster `name`, one shard (one replica) each. */
export async function startClickHouseCluster(shards = 2, name = 'nitrace_test'): Promise<ClickHouseCluster> {
  const servers = await startServers(shards, name);
  return { name, servers, stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) };
}

async function startServers(n: number, cluster: string | null): Promise<ClickHouseServer[]> {
  const binary = clickhouseServerBinary();
  const ports = await freePorts(2 * n);
  const specs = Array.from({ length: n }, (_, i) => ({ httpPort: ports[2 * i]!, tcpPort: ports[2 * i + 1]! }));
  const started: ClickHouseServer[] = [];
  try {
    for (const spec of specs) started.push(await startOne(binary, spec.httpPort, spec.tcpPort, cluster, specs));
  } catch (e) {
    await Promise.all(started.map((s) => s.stop()));
    throw e;
  }
  return started;
}

async function startOne(
  binary: string,
  httpPort: number,
  tcpPort: number,
  cluster: string | null,
  members: { tcpPort: number }[],
): Promise<ClickHouseServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-clickhouse-'));
  const config = join(dir, 'config.xml');
  writeFileSync(config, serverConfig(dir, httpPort, tcpPort, cluster, members));
  writeFileSync(join(dir, 'users.xml'), USERS_XML);
  const child = spawn(binary, [`--config-file=${config}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), running.delete(child), resolve())));
  const url = `http://127.0.0.1:${httpPort}`;
  const errorLog = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8').slice(-4000) : '');
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exitedP;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const r = await fetch(`${url}/ping`);
      if (r.ok) {
        const peakRssMb = () => {
          try {
            const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
            return kb ? Math.round(Number(kb) / 1024) : null;
          } catch {
            return null;
          }
        };
        return { url, httpPort, tcpPort, dir, errorLog, stop, peakRssMb, query: (sql) => httpQuery(url, sql), exec: (sql) => httpExec(url, sql) };
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  const why = `${stderr}\n${errorLog()}`.trim();
  await stop();
  throw new Error(`clickhouse-server on ${url} did not start${exited ? ' (it exited)' : ' within 60 s'}: ${why || 'no output'}`);
}

async function httpExec(url: string, sql: string): Promise<void> {
  const r = await fetch(`${url}/`, { method: 'POST', body: sql });
  const text = await r.text();
  if (!r.ok) throw new Error(`${url}: ${text.trim()}\n  in: ${sql}`);
}

async function httpQuery<T>(url: string, sql: string): Promise<T[]> {
  const r = await fetch(`${url}/`, { method: 'POST', body: `${sql} FORMAT JSONEachRow` });
  const text = await r.text();
  if (!r.ok) throw new Error(`${url}: ${text.trim()}\n  in: ${sql}`);
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

function serverConfig(dir: string, httpPort: number, tcpPort: number, cluster: string | null, members: { tcpPort: number }[]): string {
  const x = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const remote = cluster
    ? `<remote_servers><${cluster}>${members
        .map((m) => `<shard><replica><host>127.0.0.1</host><port>${m.tcpPort}</port></replica></shard>`)
        .join('')}</${cluster}></remote_servers>`
    : '';
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${x(join(dir, 'server.log'))}</log><errorlog>${x(join(dir, 'error.log'))}</errorlog></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${x(join(dir, 'data'))}/</path>
  <tmp_path>${x(join(dir, 'tmp'))}/</tmp_path>
  <users_config>${x(join(dir, 'users.xml'))}</users_config>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
  <!-- longer than the idle time of fetch's pooled connections (4 s), so a reused connection is never one the
       server has just closed (18.16's default is 3 s) -->
  <keep_alive_timeout>30</keep_alive_timeout>
  ${remote}
</yandex>
`;
}

/** User `default`, no password, loopback only; 2 GB per query so a runaway test query cannot take the machine. */
const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`;

/** Ports the kernel hands out right now (bound and released; a small race with other programs is accepted). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
