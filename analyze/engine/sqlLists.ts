import type { Dialect } from './engine.js';

/**
 * SQL conditions on lists of constants the code chooses (protocols/registry.ts: protocol names, id fields, session
 * paths): `column` is one of `values` (false for an empty list) / none of them (true for an empty list).
 */
export function oneOf(d: Dialect, column: string, values: readonly string[]): string {
  return values.length === 0 ? '(1 = 0)' : `${column} IN (${values.map((v) => d.string(v)).join(', ')})`;
}

export function noneOf(d: Dialect, column: string, values: readonly string[]): string {
  return values.length === 0 ? '(1 = 1)' : `${column} NOT IN (${values.map((v) => d.string(v)).join(', ')})`;
}
