import type { Engine } from '../../analyze/engine/engine.js';
import type { StoredSketch } from '../sketchStore.js';

/** What each evaluation step gets: the engine holding `obs`/`edges`, the default sizes, and two sinks. */
export interface EvalContext {
  engine: Engine;
  /** the size at which sketches are also written to sketches.parquet (per part, and merged as part 'all') */
  defaults: { alpha: number; p: number; capacity: number; width: number; depth: number; shapes: number };
  /** records sketches for sketches.parquet */
  store<S>(
    kind: StoredSketch['kind'],
    params: Record<string, number>,
    querySet: string,
    partBlobs: readonly { key: string; part: string; blob: Uint8Array }[],
    merged: Map<string, S>,
    encode: (s: S) => Uint8Array,
  ): void;
  progress(message: string): void;
  /** Other engines whose built-ins are compared too (ClickHouse with `--clickhouse URL`); empty for DuckDB only. */
  external: ExternalEngine[];
}

/**
 * An engine besides DuckDB, reached through the CLI (sketches/ does not depend on store/): it receives the
 * evaluated values as a (key String, value) table and answers its built-in aggregates over it.
 */
export interface ExternalEngine {
  name: string;
  /** Creates `table` (key String, value of `valueType`) holding `rows`. */
  load(table: string, valueType: 'String' | 'Float64', rows: readonly { key: string; value: string | number }[]): Promise<void>;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  drop(table: string): Promise<void>;
}
