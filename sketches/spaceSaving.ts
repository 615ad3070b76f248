import { ByteReader, ByteWriter } from './bytes.js';
import { unwrapPayload, wrapPayload } from './envelope.js';
import { SketchError, checkRange } from './sketchError.js';

/**
 * Heavy hitters: SpaceSaving (Metwally et al. 2005) with m counters. For every item x, with f(x) its true count and
 * N the total: count(x) - error(x) <= f(x) <= count(x) and error(x) <= N/m for items in the summary, and every
 * item not in the summary has f(x) <= min count <= N/m; so every item with f(x) > N/m is reported.
 *
 * Merge (Cafaro et al. 2016, "parallel space saving"): an item's merged count is the sum of its counts, using the
 * other summary's minimum where it is missing (an upper bound of what it may have had there); errors add the same
 * way; the m largest stay. The sum of the kept counts is at most N1 + N2 (the minimums stand in for distinct
 * evicted counters), so min <= N/m still holds and every guarantee above survives any tree of merges.
 *
 * Entries may carry a payload (the trace-shape sketch keeps a latency sketch per shape): it sees the values that
 * arrived since the entry was (re)admitted, i.e. count - error of them.
 */
export interface SpaceSavingParams {
  /** Counters kept, in [1, 1e6]. */
  capacity: number;
}

export interface PayloadCodec<P> {
  create(): P;
  merge(into: P, from: P): void;
  encode(p: P): Uint8Array;
  decode(bytes: Uint8Array): P;
}

export interface Counter<P> {
  key: string;
  count: number;
  error: number;
  payload: P | undefined;
  /** Position in the min-heap. */
  pos: number;
}

export class SpaceSaving<P = undefined> {
  readonly params: SpaceSavingParams;
  total = 0;
  private readonly byKey = new Map<string, Counter<P>>();
  private readonly heap: Counter<P>[] = [];

  constructor(
    params: SpaceSavingParams,
    private readonly codec?: PayloadCodec<P>,
  ) {
    checkRange('spacesaving capacity', params.capacity, 1, 1e6, true);
    this.params = { capacity: params.capacity };
  }

  /** Adds `weight` occurrences of `key`; returns its counter (so a caller can feed the payload). */
  add(key: string, weight = 1): Counter<P> {
    if (!Number.isInteger(weight) || weight < 1) throw new SketchError(`spacesaving weights are positive integers, got ${weight}`);
    this.total += weight;
    let c = this.byKey.get(key);
    if (c) {
      c.count += weight;
      this.down(c.pos);
      return c;
    }
    if (this.heap.length < this.params.capacity) {
      c = { key, count: weight, error: 0, payload: this.codec?.create(), pos: this.heap.length };
      this.heap.push(c);
      this.byKey.set(key, c);
      this.up(c.pos);
      return c;
    }
    // Replace the smallest counter: the newcomer may have occurred up to min times while it was not counted.
    c = this.heap[0]!;
    this.byKey.delete(c.key);
    c.key = key;
    c.error = c.count;
    c.count += weight;
    c.payload = this.codec?.create();
    this.byKey.set(key, c);
    this.down(0);
    return c;
  }

  /** The smallest count kept (0 while fewer than `capacity` items were seen): an upper bound for absent items. */
  get minCount(): number {
    return this.heap.length < this.params.capacity ? 0 : this.heap[0]!.count;
  }

  /** The upper bound of f(x): its count, or minCount when absent. */
  estimate(key: string): number {
    return this.byKey.get(key)?.count ?? this.minCount;
  }

  get(key: string): Counter<P> | undefined {
    return this.byKey.get(key);
  }

  /** Counters by count, largest first (ties by key, so output is stable). */
  top(k = this.heap.length): Counter<P>[] {
    return [...this.heap].sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1)).slice(0, k);
  }

  get size(): number {
    return this.heap.length;
  }

  merge(other: SpaceSaving<P>): void {
    if (other === this) throw new SketchError('cannot merge a spacesaving summary into itself');
    if (other.params.capacity !== this.params.capacity) {
      throw new SketchError(`cannot merge spacesaving summaries of different capacity (${this.params.capacity} and ${other.params.capacity})`);
    }
    if (!!other.codec !== !!this.codec) throw new SketchError('cannot merge a spacesaving summary with payloads and one without');
    const minA = this.minCount;
    const minB = other.minCount;
    const merged = new Map<string, { count: number; error: number; payload: P | undefined }>();
    for (const a of this.heap) merged.set(a.key, { count: a.count + minB, error: a.error + minB, payload: a.payload });
    for (const b of other.heap) {
      const m = merged.get(b.key);
      if (m) {
        m.count += b.count - minB;
        m.error += b.error - minB;
        if (m.payload !== undefined && b.payload !== undefined) this.codec!.merge(m.payload, b.payload);
      } else {
        merged.set(b.key, { count: b.count + minA, error: b.error + minA, payload: b.payload === undefined ? undefined : this.copyPayload(b.payload) });
      }
    }
    const kept = [...merged.entries()].sort((x, y) => y[1].count - x[1].count || (x[0] < y[0] ? -1 : 1)).slice(0, this.params.capacity);
    this.byKey.clear();
    this.heap.length = 0;
    for (const [key, v] of kept) {
      const c: Counter<P> = { key, count: v.count, error: v.error, payload: v.payload, pos: this.heap.length };
      this.heap.push(c);
      this.byKey.set(key, c);
      this.up(c.pos);
    }
    this.total += other.total;
  }

  private copyPayload(p: P): P {
    return this.codec!.decode(this.codec!.encode(p));
  }

  /** Payload: capacity, total, entry count, then per entry key, count, error (varints) and the payload bytes. */
  encode(): Uint8Array {
    return wrapPayload('spacesaving', this.encodePayload());
  }

  encodePayload(): Uint8Array {
    const w = new ByteWriter().varint(this.params.capacity).varint(this.total).u8(this.codec ? 1 : 0).varint(this.heap.length);
    for (const c of this.top()) {
      w.string(c.key).varint(c.count).varint(c.error);
      if (this.codec) w.bytes(this.codec.encode(c.payload as P));
    }
    return w.finish();
  }

  static decode(blob: Uint8Array): SpaceSaving<undefined> {
    return SpaceSaving.decodePayload(unwrapPayload(blob, 'spacesaving'));
  }

  static decodePayload<P = undefined>(payload: Uint8Array, codec?: PayloadCodec<P>, what = 'spacesaving blob'): SpaceSaving<P> {
    const r = new ByteReader(payload, what);
    const capacity = r.varint('capacity');
    checkRange('spacesaving capacity (from blob)', capacity, 1, 1e6, true);
    const s = new SpaceSaving<P>({ capacity }, codec);
    s.total = r.varint('total');
    const hasPayload = r.u8('payload flag');
    if (hasPayload !== (codec ? 1 : 0)) throw new SketchError(`corrupt ${what}: payload flag ${hasPayload} does not fit this sketch kind`);
    const n = r.varint('entries');
    if (n > capacity) throw new SketchError(`corrupt ${what}: ${n} entries for capacity ${capacity}`);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const key = r.string('key');
      const count = r.varint('count');
      const error = r.varint('error');
      if (error > count || s.byKey.has(key)) throw new SketchError(`corrupt ${what}: entry ${i} (error > count or repeated key)`);
      const c: Counter<P> = { key, count, error, payload: codec ? codec.decode(r.bytes('payload')) : undefined, pos: s.heap.length };
      s.heap.push(c);
      s.byKey.set(key, c);
      s.up(c.pos);
      sum += count - error;
    }
    r.end();
    if (sum > s.total) throw new SketchError(`corrupt ${what}: guaranteed counts (${sum}) exceed the total (${s.total})`);
    return s;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.count <= h[i]!.count) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < h.length && h[l]!.count < h[s]!.count) s = l;
      if (r < h.length && h[r]!.count < h[s]!.count) s = r;
      if (s === i) return;
      this.swap(i, s);
      i = s;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    [h[i], h[j]] = [h[j]!, h[i]!];
    h[i]!.pos = i;
    h[j]!.pos = j;
  }
}
