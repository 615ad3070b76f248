import { appendFileSync } from 'node:fs';
import { highWaterBytes } from '../../core/processMemory.js';
import type { Engine } from './engine.js';

/**
 * Environment variable naming a file that gets one line per engine call (JSON: method, ms, sql, and `hwm_mb`, the
 * process's resident high-water mark after the call where /proc has it) when set: finds the heaviest statements of an
 * analysis, in time and in memory (summary.json only says which step). Off by default: no cost. The mark is reset at
 * each step's start (analyze/stepMemory.ts), so within a step the call where it jumps is the one that peaked.
 */
export const SQL_TIMINGS_ENV = 'NITRACE_SQL_TIMINGS';

/** Engine calls that run SQL (the first argument is the statement, a table name or, for updateFrom, its spec). */
const TIMED = ['exec', 'query', 'stream', 'append', 'insertByName', 'updateFrom', 'loadParquet', 'writeParquet', 'createSortedScratchTable', 'insertRows'] as const;

/** `engine` with every SQL call timed into `file` (see SQL_TIMINGS_ENV); `stream` includes its consumer's time. */
export function timedEngine(engine: Engine, file: string): Engine {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (!(TIMED as readonly (string | symbol)[]).includes(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          const ms = Math.round((performance.now() - t0) * 10) / 10;
          const what = typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0] instanceof Object && 'table' in args[0] ? args[0] : String(args[0]));
          appendFileSync(file, JSON.stringify({ method: String(prop), ms, hwm_mb: megabytes(highWaterBytes()), sql: what }) + '\n');
        }
      };
    },
  });
}

const megabytes = (bytes: number | null): number | null => (bytes === null ? null : Math.round(bytes / 1048576));
