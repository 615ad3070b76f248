/** Helpers for tests that run real captures (root, real kernel): spawning nitrace, querying its output. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { packageRoot } from '../core/version.js';
import { startBackgroundCapture } from '../capture/backgroundCapture.js';

export const NITRACE = join(packageRoot, 'bin', 'nitrace.js');
export const HTTP_PAIR = join(packageRoot, 'capture', 'testdata', 'http_pair.py');
export const PYTHON = '/usr/bin/python3';
export const isRoot = process.getuid?.() === 0;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `nitrace ARGS` to completion. */
export function nitrace(args: string[], opts: { prefix?: string[]; timeoutMs?: number } = {}): Promise<Run> {
  const cmd = [...(opts.prefix ?? []), process.execPath, NITRACE, ...args];
  return run(cmd, opts.timeoutMs ?? 120_000);
}

export function run(cmd: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${cmd.join(' ')}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A capture running in the background until `stop()` (SIGINT). Resolves once its probes are attached. */
export const startCapture = startBackgroundCapture;

/** Start http_pair.py's server (optionally under a prefix such as `ip netns exec NS`); returns port and stop. */
export async function startHttpServer(host = '127.0.0.1', prefix: string[] = []): Promise<{ port: number; pid: number; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-srv-'));
  const portfile = join(dir, 'port');
  const child = spawn(prefix[0] ?? PYTHON, [...prefix.slice(1), ...(prefix.length ? [PYTHON] : []), HTTP_PAIR, 'server', '--host', host, '--portfile', portfile], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(portfile); i++) await sleep(50);
  if (!existsSync(portfile)) throw new Error('http_pair server did not start');
  return { port: Number(readFileSync(portfile, 'utf8')), pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

/** Query Parquet files with DuckDB (an embedded instance per call). */
export async function query<T extends unknown[] = unknown[]>(sql: string): Promise<T[]> {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    return (await con.runAndReadAll(sql)).getRows() as T[];
  } finally {
    con.closeSync();
  }
}

export interface ClientLogEntry {
  scenario: string;
  local_port: number;
  sent: number;
  received: number;
  requests: { line: string; req_bytes: number; resp_bytes: number }[];
}
