import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/version.js';
import { createTestNetns, type TestNetns } from './netns.js';

/** The test app's services, started and ready to be driven. */
export interface RunningApp {
  dir: string;
  /** Ground truth of every service and the driver, JSON lines (see service.py). */
  truthFile: string;
  services: { name: string; pid: number; addr: string; port: number; netns: string | null }[];
  /** The namespace playing the second node, if any. */
  netns: TestNetns | null;
  frontendUrl: string;
  stop(): Promise<void>;
}

export interface AppOptions {
  /** Working directory for truth and port files. */
  dir: string;
  /** Run `auth` in its own network namespace (a second node). Needs root. */
  secondNode?: boolean;
  /** Use this namespace for the second node (created by the caller, e.g. to start a capture on it first). */
  netns?: TestNetns;
  /** Python interpreter (Debian's, not a pyenv shim). */
  python?: string;
  /**
   * frontend forwards an X-Request-ID to its pool-thread calls (default true). Off, those calls have only timing
   * evidence: the hard case for thread pools under concurrency.
   */
  propagateIds?: boolean;
}

const SERVICE_PY = join(packageRoot, 'workloads', 'testapp', 'service.py');

/** Thread names of the test app's processes (service.py sets "nt-<name>"): `nitrace capture --comm` for each. */
export const TESTAPP_COMMS = ['nt-driver', 'nt-frontend', 'nt-auth', 'nt-catalog', 'nt-db'] as const;

/**
 * Starts the default topology: frontend -> {auth (second node), catalog -> db x2}, auth -> db.
 * frontend fans out on a thread pool and propagates X-Request-ID (content evidence); auth calls on its handler
 * thread (thread evidence); catalog is an asyncio service (every request on one OS thread, as eventlet services
 * are) that forwards the X-Request-ID (content evidence where threads are ambiguous); catalog answers with bodies
 * larger than a 512-byte snaplen, db's /rows with chunked encoding.
 */
export async function startApp(opts: AppOptions): Promise<RunningApp> {
  mkdirSync(opts.dir, { recursive: true });
  const python = opts.python ?? '/usr/bin/python3';
  const truthFile = join(opts.dir, 'truth.jsonl');
  const procs: ChildProcess[] = [];
  const services: RunningApp['services'] = [];
  const ownNetns = !opts.netns && opts.secondNode;
  const netns = opts.netns ?? (opts.secondNode ? createTestNetns() : null);
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => killChild(p)));
    if (ownNetns) netns?.remove();
  };
  try {
    const start = async (name: string, listenAddr: string, routes: unknown, inNetns: boolean, useAsync = false): Promise<{ addr: string; port: number }> => {
      const portfile = join(opts.dir, `${name}.port`);
      const args = [SERVICE_PY, '--name', name, '--listen', `${listenAddr}:0`, '--truth', truthFile, '--routes', JSON.stringify(routes), '--portfile', portfile];
      if (useAsync) args.push('--async');
      const [cmd, argv] = inNetns && netns ? ['ip', ['netns', 'exec', netns.name, python, ...args]] : [python, args];
      const p = spawn(cmd, argv as string[], { stdio: ['ignore', 'ignore', 'inherit'] });
      procs.push(p);
      const port = await waitForPortFile(portfile, p);
      const addr = listenAddr === '0.0.0.0' ? '127.0.0.1' : listenAddr;
      services.push({ name, pid: p.pid!, addr, port, netns: inNetns && netns ? netns.name : null });
      return { addr, port };
    };
    const db = await start('db', '0.0.0.0', { '/query': { resp_bytes: 200 }, '/rows': { resp_bytes: 5000, chunked: true } }, false);
    const dbFromNs = netns ? netns.hostAddr : db.addr;
    const auth = await start('auth', netns ? netns.nsAddr : '127.0.0.1', { '/check': { calls: [{ url: `http://${dbFromNs}:${db.port}/query` }] } }, true);
    const catalog = await start(
      'catalog',
      '127.0.0.1',
      { '/items': { resp_bytes: 3000, propagate: true, calls: [{ url: `http://127.0.0.1:${db.port}/query` }, { url: `http://127.0.0.1:${db.port}/rows` }] } },
      false,
      true,
    );
    const frontend = await start(
      'frontend',
      '127.0.0.1',
      {
        '/page': {
          mode: 'parallel',
          propagate: opts.propagateIds ?? true,
          calls: [{ url: `http://${auth.addr}:${auth.port}/check` }, { url: `http://127.0.0.1:${catalog.port}/items` }],
        },
      },
      false,
    );
    return { dir: opts.dir, truthFile, services, netns, frontendUrl: `http://127.0.0.1:${frontend.port}/page`, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Drives `requests` requests at the frontend with `concurrency` parallel clients; resolves when all answered. */
export async function driveApp(app: RunningApp, requests: number, concurrency: number, python = '/usr/bin/python3'): Promise<{ requests: number; errors: number }> {
  const p = spawn(
    python,
    [SERVICE_PY, '--name', 'driver', '--drive', app.frontendUrl, '--requests', String(requests), '--concurrency', String(concurrency), '--truth', app.truthFile],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number>((res) => p.on('exit', (c) => res(c ?? 1)));
  const last = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as { requests: number; errors: number };
  } catch {
    throw new Error(`testapp driver exited ${code} without a result: ${out.slice(0, 200)}`);
  }
}

/**
 * The built-in demo workload: starts the app, drives `requests` requests, stops it, and returns the ground-truth
 * file. `onStarted` runs once the services listen (e.g. to note their pids for a capture filter).
 */
export async function runDemoApp(opts: AppOptions & { requests?: number; concurrency?: number; onStarted?: (app: RunningApp) => Promise<void> | void }): Promise<{ truthFile: string; app: RunningApp; errors: number }> {
  const app = await startApp(opts);
  try {
    await opts.onStarted?.(app);
    const r = await driveApp(app, opts.requests ?? 20, opts.concurrency ?? 1, opts.python);
    return { truthFile: app.truthFile, app, errors: r.errors };
  } finally {
    await app.stop();
  }
}

async function waitForPortFile(file: string, p: ChildProcess): Promise<number> {
  for (let i = 0; i < 300; i++) {
    if (existsSync(file)) return Number(readFileSync(file, 'utf8'));
    if (p.exitCode !== null) throw new Error(`testapp service exited with ${p.exitCode} before listening`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`testapp service did not start listening within 30 s (${file})`);
}

async function killChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((res) => p.once('exit', () => res()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
