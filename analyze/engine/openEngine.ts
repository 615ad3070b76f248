import { totalmem } from 'node:os';
import { join } from 'node:path';
import { NitraceError } from '../../core/errors.js';
import { DuckDbEngine } from './duckdb.js';
import type { Engine, EngineSettings } from './engine.js';
import { SQL_TIMINGS_ENV, timedEngine } from './timedEngine.js';

/** Engines `nitrace analyze --engine` can run on. */
export const ENGINE_NAMES = ['duckdb', 'clickhouse'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Files and directories in OUT any engine writes (a rerun removes them first, whichever engine ran before). */
export const ENGINE_FILES = ['analysis.duckdb', 'analysis.duckdb.wal', 'analysis.chdb'] as const;

/** Default memory budget of an analysis (`--memory`): a quarter of the machine's RAM, at least 1 GiB. */
export function defaultMemoryBytes(): number {
  return Math.max(1024 ** 3, Math.floor(totalmem() / 4));
}

/**
 * Share of the analysis's memory budget (`--memory`, the whole process) the engine's own limit gets. The rest is for
 * what shares the process and is not under that limit: the JS heap and parse workers, the engine's allocations
 * outside its buffer pool (DuckDB's memory_limit covers its buffer manager only) and freed memory its allocator has
 * not returned yet. Measured: the quiet 10 M bench-analyze with the engine limited to (nearly) the whole 2 GiB budget
 * (2048 MB = 1.91 GiB: DuckDB's MB is 10^6 bytes) spilled 1.0 GB and peaked at 2.78 GiB, ~0.87 GiB above the engine's
 * limit (bench/results/analyze-2026-11-30T17-12-49.169Z.json): half of a 2 GiB budget leaves that room.
 */
export const ENGINE_MEMORY_SHARE = 0.5;

/** The engine's memory limit for a budget of `budgetBytes` for the whole analysis (at least 64 MiB). */
export function engineMemoryBytes(budgetBytes: number): number {
  return Math.max(64 * 1024 ** 2, Math.floor(budgetBytes * ENGINE_MEMORY_SHARE));
}

/** Parses sizes such as `2GB`, `1.5G`, `800MB`, `512m`; null if not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * unit);
}

/**
 * Opens the analysis engine `name` with its database in directory `out` (the file users reopen afterwards). The one
 * place that knows which engines exist.
 */
export async function openEngine(name: string, out: string, settings: EngineSettings): Promise<{ engine: Engine; database: string; files: string[] }> {
  const opened = await openNamedEngine(name, out, settings);
  const timings = process.env[SQL_TIMINGS_ENV];
  return timings ? { ...opened, engine: timedEngine(opened.engine, timings) } : opened;
}

async function openNamedEngine(name: string, out: string, settings: EngineSettings): Promise<{ engine: Engine; database: string; files: string[] }> {
  if (name === 'duckdb') {
    const database = join(out, 'analysis.duckdb');
    return { engine: await DuckDbEngine.open(database, settings), database, files: ['analysis.duckdb', 'analysis.duckdb.wal'] };
  }
  if (name === 'clickhouse') {
    // Loaded on demand: chdb is an optional dependency, and loading it costs time and memory.
    const { ClickHouseEngine } = await import('./clickhouse.js');
    const database = join(out, 'analysis.chdb');
    return { engine: await ClickHouseEngine.open(database, settings), database, files: ['analysis.chdb'] };
  }
  throw new NitraceError('analyze', `unknown engine '${name}' (available: ${ENGINE_NAMES.join(', ')})`, 2);
}
