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
}
