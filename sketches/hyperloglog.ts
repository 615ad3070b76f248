import { ByteReader, ByteWriter } from './bytes.js';
import { unwrapPayload, wrapPayload } from './envelope.js';
import { hash64 } from './hash64.js';
import { SketchError, checkRange } from './sketchError.js';

/**
 * Distinct counts: HyperLogLog (Flajolet et al. 2007) on a 64-bit hash with Ertl's improved estimator ("New
 * cardinality estimation algorithms for HyperLogLog sketches", arXiv:1702.01284, algorithm 6). That estimator
 * corrects the raw estimate's bias at small and large cardinalities analytically, so there is neither the
 * linear-counting switch nor the empirical bias tables of HLL++; its relative standard error is 1.04/sqrt(m) over
 * the whole range (m = 2^p registers).
 *
 * Why written here: the JS packages measured on this machine miss the bound (bloom-filters' HyperLogLog -49.9 %)
 * or do not build (`hyperloglog`, native). This one is 100 lines and tested against exact counts.
 *
 * Merging is register-wise max, so merged sketches equal the sketch of the union exactly.
 */
export interface HyperLogLogParams {
  /** log2 of the register count, in [4, 18]: m = 2^p registers, one byte each. */
  p: number;
}

export class HyperLogLog {
  readonly params: HyperLogLogParams;
  readonly registers: Uint8Array;

  constructor(params: HyperLogLogParams, registers?: Uint8Array) {
    checkRange('hyperloglog p', params.p, 4, 18, true);
    this.params = { p: params.p };
    this.registers = registers ?? new Uint8Array(1 << params.p);
  }

  /** Relative standard error of the estimate, 1.04/sqrt(m). */
  static standardError(p: number): number {
    return 1.04 / Math.sqrt(2 ** p);
  }

  add(key: string | Uint8Array): void {
    const { hi, lo } = hash64(key);
    this.addHash(hi, lo);
  }

  /** Adds a value by its 64-bit hash (two unsigned 32-bit halves). */
  addHash(hi: number, lo: number): void {
    const p = this.params.p;
    const index = hi >>> (32 - p);
    // rho = position of the first 1-bit in the remaining q = 64 - p bits (q + 1 when they are all zero).
    const rest = (hi << p) >>> 0;
    let rho: number;
    if (rest !== 0) rho = Math.clz32(rest) + 1;
    else if (lo !== 0) rho = 32 - p + Math.clz32(lo) + 1;
    else rho = 64 - p + 1;
    if (rho > this.registers[index]!) this.registers[index] = rho;
  }

  estimate(): number {
    const p = this.params.p;
    const q = 64 - p;
    const m = 1 << p;
    const hist = new Float64Array(q + 2);
    for (const r of this.registers) hist[r]!++;
    let z = m * tau(1 - hist[q + 1]! / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + hist[k]!);
    z += m * sigma(hist[0]! / m);
    return (m * m) / (2 * Math.LN2 * z);
  }

  merge(other: HyperLogLog): void {
    if (other.params.p !== this.params.p) {
      throw new SketchError(`cannot merge hyperloglogs of different p (${this.params.p} and ${other.params.p})`);
    }
    const a = this.registers;
    const b = other.registers;
    for (let i = 0; i < a.length; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
  }

  /**
   * Payload: p (u8), a format byte, then either the 2^p registers one byte each (0: dense) or, when that is shorter,
   * the number of non-zero registers and per register the gap to the previous index (varint) and its value
   * (1: sparse; the sketches of one process in one time window are mostly empty registers).
   */
  encode(): Uint8Array {
    const w = new ByteWriter().u8(this.params.p);
    const nonZero = this.registers.reduce((n, r) => n + (r !== 0 ? 1 : 0), 0);
    if (nonZero * 3 < this.registers.length) {
      w.u8(1).varint(nonZero);
      let last = -1;
      this.registers.forEach((r, i) => {
        if (r === 0) return;
        w.varint(i - last - 1).u8(r);
        last = i;
      });
    } else w.u8(0).raw(this.registers);
    return wrapPayload('hyperloglog', w.finish());
  }

  static decode(blob: Uint8Array): HyperLogLog {
    const r = new ByteReader(unwrapPayload(blob, 'hyperloglog'), 'hyperloglog blob');
    const p = r.u8('p');
    checkRange('hyperloglog p (from blob)', p, 4, 18, true);
    const m = 1 << p;
    const format = r.u8('format');
    let registers: Uint8Array;
    if (format === 0) registers = new Uint8Array(r.raw(m, 'registers'));
    else if (format === 1) {
      registers = new Uint8Array(m);
      const n = r.varint('non-zero registers');
      let index = -1;
      for (let k = 0; k < n; k++) {
        index += r.varint('register gap') + 1;
        if (index >= m) throw new SketchError(`corrupt hyperloglog blob: sparse register index ${index} >= ${m}`);
        registers[index] = r.u8('register');
      }
    } else throw new SketchError(`corrupt hyperloglog blob: unknown register format ${format}`);
    r.end();
    const max = 64 - p + 1;
    const bad = registers.findIndex((v) => v > max);
    if (bad >= 0) throw new SketchError(`corrupt hyperloglog blob: register ${bad} = ${registers[bad]} exceeds ${max}`);
    return new HyperLogLog({ p }, registers);
  }
}

/** Ertl's sigma(x) = x + sum_k x^(2^k) 2^(k-1), the small-range correction (x = share of empty registers). */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const prev = z;
    z += x * y;
    y += y;
    if (z === prev) return z;
  }
}

/** Ertl's tau(x), the large-range correction (x = share of registers below the maximum value). */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const prev = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === prev) return z / 3;
  }
}
