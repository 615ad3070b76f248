import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../core/version.js';
import { freePorts } from '../../testing/freePorts.js';
import { startRabbitMq, type RabbitMqServer } from '../../testing/rabbitmqServer.js';

const SERVICE_PY = join(packageRoot, 'workloads', 'rpcapp', 'rpcservice.py');

/** One process of the RPC app. `name`: the truth file's `service` (worker/helper: their RPC server name). */
export interface RpcProcess {
  name: string;
  role: 'db' | 'api' | 'worker' | 'helper' | 'driver' | 'broker';
  pid: number;
}

/** The RPC app, started with every process waiting (nothing connected to the broker yet). */
export interface RpcApp {
  dir: string;
  truthFile: string;
  broker: RabbitMqServer;
  processes: RpcProcess[];
  /** Lets the services connect to the broker and start their RPC servers; resolves when they consume. */
  connect(): Promise<void>;
  /** Runs the driver's requests; resolves with its result once every request was answered. */
  drive(): Promise<{ requests: number; errors: number }>;
  stop(): Promise<void>;
}

export interface RpcAppOptions {
  /** Working directory for truth and port files. */
  dir: string;
  requests?: number;
  concurrency?: number;
  /** Broker frame_max (default 16384: a 40 KB reply spans 3 body frames). */
  frameMax?: number;
  python?: string;
}

/** Python modules the app imports, and whether Debian's python has them. */
export function rpcAppMissing(python = '/usr/bin/python3'): string | null {
  if (!existsSync(python)) return `${python} is missing`;
  const r = spawnSync(python, ['-c', 'import oslo_messaging, eventlet, kombu'], { encoding: 'utf8' });
  return r.status === 0 ? null : `python3-oslo.messaging / python3-eventlet are not installed (${r.stderr.trim().split('\n').pop()}): run scripts/setup-rabbitmq.sh as root (make test does)`;
}

/**
 * Starts RabbitMQ (a throwaway node, testing/rabbitmqServer.ts) and the app: db, api, two workers (`worker-a`,
 * `worker-b`, competing consumers of topic `worker`, both on its fanout), helper, and the driver, all waiting on
 * stdin. The caller may start a capture of `processes` now; `connect()` then `drive()` run the workload.
 */
export async function startRpcApp(opts: RpcAppOptions): Promise<RpcApp> {
  mkdirSync(opts.dir, { recursive: true });
  const python = opts.python ?? '/usr/bin/python3';
  const truthFile = join(opts.dir, 'truth.jsonl');
  const children: ChildProcess[] = [];
  const processes: RpcProcess[] = [];
  let booting: Promise<RabbitMqServer | null> = Promise.resolve(null);
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((p) => killChild(p)));
    await (await booting)?.stop();
  };
  try {
    // Erlang boots slowly and so do Python's imports: the broker boots while the services import.
    const [amqpPort] = (await freePorts(1)) as [number];
    const starting = startRabbitMq({ frameMax: opts.frameMax ?? 16384, amqpPort });
    booting = starting.catch(() => null); // a failed start cleans up after itself; its error is thrown below
    const start = (role: RpcProcess['role'], name: string, extra: string[]): ChildProcess => {
      const args = [SERVICE_PY, '--role', role, '--truth', truthFile, '--portfile', join(opts.dir, `${name}.port`), ...extra];
      const p = spawn(python, args, { stdio: ['pipe', role === 'driver' ? 'pipe' : 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => {
        err = (err + d.toString()).slice(-3000);
        if (process.env.NITRACE_RPCAPP_VERBOSE) process.stderr.write(`[${name}] ${d.toString()}`);
      });
      (p as ChildProcess & { errTail: () => string }).errTail = () => err;
      children.push(p);
      processes.push({ name, role, pid: p.pid! });
      return p;
    };
    const transport = ['--transport', `rabbit://guest:guest@127.0.0.1:${amqpPort}/`];
    const db = start('db', 'db', []);
    const dbPorts = (await waitForPortFile(join(opts.dir, 'db.port'), db)) as { http: number; resp: number };
    const dbArg = ['--db', `127.0.0.1:${dbPorts.http}:${dbPorts.resp}`];
    const api = start('api', 'api', transport);
    const rpcServers = [
      start('worker', 'worker-a', [...transport, '--server', 'worker-a', ...dbArg]),
      start('worker', 'worker-b', [...transport, '--server', 'worker-b', ...dbArg]),
      start('helper', 'helper', [...transport, '--server', 'helper', ...dbArg]),
    ];
    const apiPort = ((await waitForPortFile(join(opts.dir, 'api.port'), api)) as { http: number }).http;
    const broker = await starting;
    processes.push({ name: 'broker', role: 'broker', pid: broker.pid });
    const driver = start('driver', 'driver', [
      '--drive', `http://127.0.0.1:${apiPort}`, '--requests', String(opts.requests ?? 40), '--concurrency', String(opts.concurrency ?? 6),
    ]);
    const rpcNames = ['worker-a', 'worker-b', 'helper'];
    // Imports done (eventlet's greenlet mapped): a capture started after this sees the green threads.
    for (const [i, p] of rpcServers.entries()) await waitForPortFile(join(opts.dir, `${rpcNames[i]}.port`), p, 120_000);
    const connect = async (): Promise<void> => {
      for (const p of [api, ...rpcServers]) p.stdin!.write('go\n');
      for (const [i, p] of rpcServers.entries()) await waitForPortFile(join(opts.dir, `${rpcNames[i]}.port.ready`), p, 120_000);
    };
    const drive = async (): Promise<{ requests: number; errors: number }> => {
      let out = '';
      driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number>((res) => driver.once('exit', (c) => res(c ?? 1)));
      driver.stdin!.write('go\n');
      const code = await exited;
      const last = out.trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(last) as { requests: number; errors: number };
      } catch {
        throw new Error(`rpcapp driver exited ${code} without a result: ${out.slice(0, 300)} ${errTail(driver)}`);
      }
    };
    return { dir: opts.dir, truthFile, broker, processes, connect, drive, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function errTail(p: ChildProcess): string {
  return (p as ChildProcess & { errTail?: () => string }).errTail?.() ?? '';
}

async function waitForPortFile(file: string, p: ChildProcess, timeoutMs = 60_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
    if (p.exitCode !== null) throw new Error(`rpcapp process exited with ${p.exitCode} before it was ready (${file}): ${errTail(p)}`);
    await sleep(100);
  }
  throw new Error(`rpcapp process not ready within ${timeoutMs / 1000} s (${file}): ${errTail(p)}`);
}

async function killChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((res) => p.once('exit', () => res()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
