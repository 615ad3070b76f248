/**
 * What a result file must say about where and on what it was measured: machine, kernel, load, code version.
 * Written into every bench/results/*.json so a number can be traced to its conditions.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem, version as osVersion } from 'node:os';
import { join } from 'node:path';
import { packageRoot, version } from '../core/version.js';

export function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').trim();
}

function git(args: string[]): string | null {
  const r = spawnSync('git', ['-C', packageRoot, ...args], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export interface MachineInfo {
  hostname: string;
  cpu_model: string;
  cpus: number;
  memory_gib: number;
  kernel: { release: string; version: string };
  node: string;
  nitrace_version: string;
  /** HEAD of the checkout the benchmark ran from, and whether tracked files differed from it. */
  git_commit: string | null;
  git_dirty: boolean | null;
  load_before: string;
}

export function machineInfo(): MachineInfo {
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    hostname: hostname(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: { release: release(), version: osVersion() },
    node: process.version,
    nitrace_version: version,
    git_commit: git(['rev-parse', 'HEAD']),
    git_dirty: status === null ? null : status.length > 0,
    load_before: loadavg(),
  };
}

/** Write `result` to bench/results/<prefix>-<ISO time>.json and return the path. */
export function writeResult(prefix: string, date: string, result: unknown): string {
  const dir = join(packageRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${prefix}-${date}.json`.replaceAll(':', '-'));
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}
