import { ByteReader, ByteWriter } from './bytes.js';
import { LatencySketch } from './ddsketch.js';
import { unwrapPayload, wrapPayload } from './envelope.js';
import { SpaceSaving, type PayloadCodec } from './spaceSaving.js';
import { SketchError, checkRange } from './sketchError.js';

/**
 * A structural sketch of traces: each trace is reduced to its canonical call-tree shape (canonicalShape.ts: labels
 * of the spans, children sorted, hashed bottom-up), shapes are counted with SpaceSaving, and each kept shape carries
 * a DDSketch of its traces' latencies.
 *
 * Guarantees, with N traces and m = capacity:
 * - counts: as SpaceSaving: count - error <= f(shape) <= count, error <= N/m; every shape with f > N/m is kept.
 * - shape-conditional quantiles: the latency sketch holds the r = count - error traces of the shape seen since it
 *   was (re)admitted, so at most e = error of its f traces are missing. The element of rank j = floor(q(r-1))
 *   among those r has rank between j and j + e among all f, and j >= q(f-1) - e; DDSketch adds relative error
 *   alpha: (1 - alpha) x[floor(q(f-1) - e)] <= answer <= (1 + alpha) x[floor(q(f-1)) + e] (ranks clamped to
 *   [0, f-1], x sorted). A shape never evicted (error 0) gets the plain alpha guarantee.
 */
export interface TraceShapeParams {
  /** Shapes kept, in [1, 1e5]. */
  capacity: number;
  /** Relative accuracy of the per-shape latency sketch, in [1e-4, 0.5]. */
  alpha: number;
}

export interface ShapeStats {
  /** What the shape looks like (canonicalShape.ts describe(), cut to DESCRIPTION_MAX chars). */
  description: string;
  latency: LatencySketch;
}

export interface ShapeEntry {
  shape: string;
  description: string;
  count: number;
  error: number;
  latency: LatencySketch;
}

const DESCRIPTION_MAX = 240;

export class TraceShapeSketch {
  readonly params: TraceShapeParams;
  readonly counts: SpaceSaving<ShapeStats>;

  constructor(params: TraceShapeParams, counts?: SpaceSaving<ShapeStats>) {
    checkRange('traceshapes capacity', params.capacity, 1, 1e5, true);
    checkRange('traceshapes alpha', params.alpha, 1e-4, 0.5);
    this.params = { capacity: params.capacity, alpha: params.alpha };
    this.counts = counts ?? new SpaceSaving({ capacity: params.capacity }, shapeCodec(params.alpha));
  }

  get total(): number {
    return this.counts.total;
  }

  /** Counts one trace of shape `shape` (a hash) that took `latencyNs`. */
  add(shape: string, description: string, latencyNs: number): void {
    const c = this.counts.add(shape);
    const stats = c.payload!;
    if (stats.description === '') stats.description = description.slice(0, DESCRIPTION_MAX);
    stats.latency.add(latencyNs);
  }

  top(k?: number): ShapeEntry[] {
    return this.counts.top(k).map((c) => ({ shape: c.key, description: c.payload!.description, count: c.count, error: c.error, latency: c.payload!.latency }));
  }

  get(shape: string): ShapeEntry | undefined {
    const c = this.counts.get(shape);
    return c && { shape: c.key, description: c.payload!.description, count: c.count, error: c.error, latency: c.payload!.latency };
  }

  merge(other: TraceShapeSketch): void {
    if (other.params.alpha !== this.params.alpha || other.params.capacity !== this.params.capacity) {
      throw new SketchError(
        `cannot merge trace-shape sketches of different parameters (capacity ${this.params.capacity}/${other.params.capacity}, alpha ${this.params.alpha}/${other.params.alpha})`,
      );
    }
    this.counts.merge(other.counts);
  }

  /** Payload: capacity (varint), alpha (f64), then the SpaceSaving payload with per-shape description + DDSketch. */
  encode(): Uint8Array {
    const w = new ByteWriter().varint(this.params.capacity).f64(this.params.alpha).raw(this.counts.encodePayload());
    return wrapPayload('traceshapes', w.finish());
  }

  static decode(blob: Uint8Array): TraceShapeSketch {
    const payload = unwrapPayload(blob, 'traceshapes');
    const r = new ByteReader(payload, 'trace-shape blob');
    const capacity = r.varint('capacity');
    const alpha = r.f64('alpha');
    checkRange('traceshapes capacity (from blob)', capacity, 1, 1e5, true);
    checkRange('traceshapes alpha (from blob)', alpha, 1e-4, 0.5);
    const counts = SpaceSaving.decodePayload(payload.subarray(r.offset), shapeCodec(alpha), 'trace-shape blob');
    if (counts.params.capacity !== capacity) throw new SketchError(`corrupt trace-shape blob: capacity ${capacity} vs ${counts.params.capacity}`);
    for (const c of counts.top()) {
      if (c.payload!.latency.count !== c.count - c.error) {
        throw new SketchError(`corrupt trace-shape blob: shape ${c.key} holds ${c.payload!.latency.count} latencies, its counts say ${c.count - c.error}`);
      }
    }
    return new TraceShapeSketch({ capacity, alpha }, counts);
  }
}

function shapeCodec(alpha: number): PayloadCodec<ShapeStats> {
  return {
    create: () => ({ description: '', latency: new LatencySketch({ alpha }) }),
    merge: (into, from) => {
      if (into.description === '') into.description = from.description;
      into.latency.merge(from.latency);
    },
    encode: (p) => new ByteWriter().string(p.description).bytes(p.latency.encodePayload()).finish(),
    decode: (bytes) => {
      const r = new ByteReader(bytes, 'trace-shape entry');
      const description = r.string('description');
      const latency = LatencySketch.decodePayload(r.bytes('latency'));
      r.end();
      if (latency.params.alpha !== alpha) throw new SketchError(`corrupt trace-shape blob: entry alpha ${latency.params.alpha}, sketch alpha ${alpha}`);
      return { description, latency };
    },
  };
}
