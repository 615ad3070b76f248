/** How the evaluation drives one kind of sketch (make, feed, encode, decode, merge). */
export interface SketchOps<S, V> {
  make(): S;
  add(sketch: S, value: V): void;
  encode(sketch: S): Uint8Array;
  decode(blob: Uint8Array): S;
  merge(into: S, from: S): void;
}

/** One input to a keyed family of sketches: `key` picks the sketch, `part` the node/process/window it came from. */
export interface Item<V> {
  key: string;
  part: string;
  value: V;
}

export interface BuiltSketches<S> {
  /** one sketch per key, built in one pass over every item */
  single: Map<string, S>;
  /** one sketch per key, merged from per-part sketches that went through their binary form */
  merged: Map<string, S>;
  /** per-part blobs, for writing sketches.parquet */
  partBlobs: { key: string; part: string; blob: Uint8Array }[];
  parts: number;
  buildMs: number;
  mergeMs: number;
  singleBytes: number;
  mergedBytes: number;
  partBytes: number;
}

/**
 * Builds every key's sketch twice: in one pass over all items (timed: build_ms), and per part, encoded to blobs,
 * then decoded and merged per key (timed: merge_ms, decode included: what a collector that receives the nodes'
 * blobs pays).
 */
export function buildSketches<S, V>(items: readonly Item<V>[], ops: SketchOps<S, V>): BuiltSketches<S> {
  let t = performance.now();
  const single = new Map<string, S>();
  for (const it of items) {
    let s = single.get(it.key);
    if (!s) single.set(it.key, (s = ops.make()));
    ops.add(s, it.value);
  }
  const buildMs = performance.now() - t;

  const perPart = new Map<string, Map<string, S>>();
  const partNames = new Set<string>();
  for (const it of items) {
    partNames.add(it.part);
    let byPart = perPart.get(it.key);
    if (!byPart) perPart.set(it.key, (byPart = new Map()));
    let s = byPart.get(it.part);
    if (!s) byPart.set(it.part, (s = ops.make()));
    ops.add(s, it.value);
  }
  const partBlobs: { key: string; part: string; blob: Uint8Array }[] = [];
  for (const [key, byPart] of perPart) for (const [part, s] of byPart) partBlobs.push({ key, part, blob: ops.encode(s) });

  t = performance.now();
  const merged = new Map<string, S>();
  for (const { key, blob } of partBlobs) {
    const s = ops.decode(blob);
    const into = merged.get(key);
    if (into) ops.merge(into, s);
    else merged.set(key, s);
  }
  const mergeMs = performance.now() - t;

  let singleBytes = 0;
  for (const s of single.values()) singleBytes += ops.encode(s).length;
  let mergedBytes = 0;
  for (const s of merged.values()) mergedBytes += ops.encode(s).length;
  const partBytes = partBlobs.reduce((a, p) => a + p.blob.length, 0);
  return { single, merged, partBlobs, parts: partNames.size, buildMs, mergeMs, singleBytes, mergedBytes, partBytes };
}

export async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}
