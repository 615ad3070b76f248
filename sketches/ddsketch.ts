import { DDSketch } from '@datadog/sketches-js';
import { ByteReader, ByteWriter } from './bytes.js';
import { unwrapPayload, wrapPayload } from './envelope.js';
import { SketchError, checkRange } from './sketchError.js';

/**
 * Latency quantiles with relative accuracy alpha (DDSketch, Masson et al. VLDB'19, through @datadog/sketches-js):
 * for every q, the answer x̂ satisfies |x̂ - x_q| <= alpha * x_q, where x_q is the element of rank floor(q (n-1))
 * of the sorted input. The guarantee holds at any input size and survives merging (bins of the same gamma add up),
 * so sketches built per node and per time window and merged answer exactly as one sketch built over everything.
 *
 * Values must be >= 0 (latencies, sizes): the library's merge() skips negative bins, so negatives are refused
 * rather than silently lost. The store is the library's unbounded dense store: memory grows with log(max/min)/alpha
 * bins, not with n (about 2 KB at alpha 0.01 over six decades of latency).
 */
export interface DdSketchParams {
  /** Relative accuracy, in [1e-4, 0.5]. */
  alpha: number;
}

export class LatencySketch {
  readonly params: DdSketchParams;
  private dd: DDSketch;

  constructor(params: DdSketchParams, dd?: DDSketch) {
    checkRange('ddsketch alpha', params.alpha, 1e-4, 0.5);
    this.params = { alpha: params.alpha };
    this.dd = dd ?? new DDSketch({ relativeAccuracy: params.alpha });
  }

  get count(): number {
    return this.dd.count;
  }

  add(value: number, weight = 1): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new SketchError(`ddsketch takes finite values >= 0, got ${value}`);
    this.dd.accept(value, weight);
  }

  /** The q-quantile estimate; NaN when the sketch is empty. */
  quantile(q: number): number {
    checkRange('quantile', q, 0, 1);
    return this.dd.getValueAtQuantile(q);
  }

  merge(other: LatencySketch): void {
    if (other.params.alpha !== this.params.alpha) {
      throw new SketchError(`cannot merge ddsketches of different alpha (${this.params.alpha} and ${other.params.alpha})`);
    }
    this.dd.merge(other.dd);
  }

  clone(): LatencySketch {
    return LatencySketch.decode(this.encode());
  }

  /** Payload: alpha (f64), then the library's protobuf (DDSketch.proto, interoperable with other DDSketch ports). */
  encode(): Uint8Array {
    return wrapPayload('ddsketch', this.encodePayload());
  }

  encodePayload(): Uint8Array {
    return new ByteWriter().f64(this.params.alpha).bytes(this.trimmedProto()).finish();
  }

  /**
   * The library's toProto() writes its whole bin array, grown in chunks of 128 (1 KB of zero doubles for a sketch
   * of one value). Writing only minKey..maxKey is the same protobuf message with the same answers, 2-10x smaller on
   * the shipped samples.
   */
  private trimmedProto(): Uint8Array {
    const store = this.dd.store;
    const saved = { bins: store.bins, offset: store.offset };
    if (store.count > 0) {
      store.bins = store.bins.slice(store.minKey - store.offset, store.maxKey - store.offset + 1);
      store.offset = store.minKey;
    } else store.bins = [];
    try {
      return this.dd.toProto();
    } finally {
      store.bins = saved.bins;
      store.offset = saved.offset;
    }
  }

  static decode(blob: Uint8Array): LatencySketch {
    return LatencySketch.decodePayload(unwrapPayload(blob, 'ddsketch'));
  }

  static decodePayload(payload: Uint8Array): LatencySketch {
    const r = new ByteReader(payload, 'ddsketch blob');
    const alpha = r.f64('alpha');
    const proto = r.bytes('protobuf');
    r.end();
    checkRange('ddsketch alpha (from blob)', alpha, 1e-4, 0.5);
    let decoded: DDSketch;
    try {
      decoded = DDSketch.fromProto(proto);
    } catch (e) {
      throw new SketchError(`corrupt ddsketch blob: protobuf does not decode (${(e as Error).message})`);
    }
    // The library rebuilds its mapping from the stored gamma, whose alpha -> gamma round trip moves the last bits
    // and so every answer by ~1e-14. Rebuilding from the alpha we stored gives back the very mapping the sketch was
    // made with (and lets it merge with fresh sketches of that alpha); the stored one must agree with it.
    const dd = new DDSketch({ relativeAccuracy: alpha });
    const stored = decoded.mapping as unknown as { gamma: number; _offset: number };
    const fresh = dd.mapping as unknown as { gamma: number; _offset: number };
    if (Math.abs(stored.gamma - fresh.gamma) > 1e-9 * fresh.gamma || stored._offset !== fresh._offset || decoded.mapping.constructor !== dd.mapping.constructor) {
      throw new SketchError(`corrupt ddsketch blob: protobuf mapping (gamma ${stored.gamma}) is not the logarithmic mapping of alpha ${alpha}`);
    }
    for (const store of [decoded.store, decoded.negativeStore]) {
      if (!store.bins.every((b) => Number.isFinite(b) && b >= 0)) throw new SketchError('corrupt ddsketch blob: a bin count is negative or not finite');
    }
    if (decoded.negativeStore.count > 0) throw new SketchError('corrupt ddsketch blob: negative values (nitrace sketches hold values >= 0)');
    dd.store = decoded.store;
    dd.zeroCount = decoded.zeroCount;
    dd.count = decoded.count;
    return new LatencySketch({ alpha }, dd);
  }
}
