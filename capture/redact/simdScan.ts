/**
 * A WebAssembly SIMD prefilter for the trigger scan (capture/redact/triggers.ts): 16 payload bytes per step, where
 * the JavaScript scans read one or two bytes per table load (~1 ns/byte on the dev machine, the largest single
 * cost of redaction). It finds every position whose three bytes may start a word, Teddy style (Hyperscan's
 * multi-literal matcher): each word's first three bytes, in every case the word may take, are put into one of 8
 * buckets; per byte position the low and high nibble of each of the three bytes select a bucket mask from 16-byte
 * tables (`i8x16.swizzle`), and a position is a candidate when all six masks share a bucket. That is a superset
 * of the word starts (a nibble table also accepts mixes of its bucket's words); the caller checks each candidate.
 *
 * The module is assembled here from its opcodes (a few dozen bytes, no toolchain). Without WebAssembly SIMD
 * (`WebAssembly.validate` says no) `CandidateScanner.create` returns null and the caller keeps its JS scan.
 */

/** The tables: T0lo T0hi T1lo T1hi T2lo T2hi, 16 bytes each, at address 0. */
const TABLES = 0;
/** Payload bytes are copied here (after the tables). */
const DATA = 128;
const PAGE = 65536;

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const name = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// opcodes
const I32 = 0x7f;
const V128 = 0x7b;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const VOID = 0x40;
const GET = 0x20;
const SET = 0x21;
const CONST = 0x41;
const I32_STORE = 0x36;
const EQZ = 0x45;
const GE_S = 0x4e;
const GT_S = 0x4a;
const CTZ = 0x68;
const ADD = 0x6a;
const SUB = 0x6b;
const AND = 0x71;
const OR = 0x72;
const SHL = 0x74;
const simd = (op: number): number[] => [0xfd, ...leb(op)];
const V_LOAD = (offset: number): number[] => [...simd(0x00), 0, ...leb(offset)];
const V_CONST = (bytes: number[]): number[] => [...simd(0x0c), ...bytes];
const SWIZZLE = simd(0x0e);
const NE = simd(0x24);
const V_AND = simd(0x4e);
const V_OR = simd(0x50);
const ANY_TRUE = simd(0x53);
const BITMASK = simd(0x64);
const SHR_U = simd(0x6d);

/**
 * scan(p, len, out) -> count: writes, as u32 at `out`, every position i < len - 2 (ascending) where
 * `mem[p + i, p + i + 3)` passes the tables. 32 positions per step (two vectors, one branch); reads up to 33 bytes
 * past `p + len` (masked off).
 */
function scanFunction(): number[] {
  // params 0 p, 1 len, 2 out; locals: 3 i, 4 n, 5 lim, 6 bits, 7 a; 8-13 tables, 14 nibble mask, 15 m, 16 v, 17 m2
  const [p, len, out, i, n, lim, bits, a] = [0, 1, 2, 3, 4, 5, 6, 7];
  const T = (k: number) => 8 + k;
  const NIB = 14;
  const M = 15;
  const V = 16;
  const M2 = 17;
  /** swizzle(lo table, v & 15) & swizzle(hi table, v >> 4) for byte k of the word, v = mem[a + at + k, +16). */
  const byteMask = (at: number, k: number): number[] => [
    GET, a, ...V_LOAD(at + k), SET, V,
    GET, T(2 * k), GET, V, GET, NIB, ...V_AND, ...SWIZZLE, // swizzle(table, index): table first
    GET, T(2 * k + 1), GET, V, CONST, 4, ...SHR_U, ...SWIZZLE,
    ...V_AND,
  ];
  /** The candidate lanes of the 16 positions from a + at (non-zero: some bucket passes all three bytes). */
  const mask = (at: number): number[] => [...byteMask(at, 0), ...byteMask(at, 1), ...V_AND, ...byteMask(at, 2), ...V_AND];
  const ZERO = V_CONST(new Array<number>(16).fill(0));
  const body: number[] = [
    ...[CONST, 0, SET, i, CONST, 0, SET, n],
    ...[GET, len, CONST, 2, SUB, SET, lim],
    ...Array.from({ length: 6 }, (_, k) => [CONST, 0, ...V_LOAD(TABLES + 16 * k), SET, T(k)]).flat(),
    ...V_CONST(new Array<number>(16).fill(15)), SET, NIB,
    BLOCK, VOID,
    LOOP, VOID,
    ...[GET, i, GET, lim, GE_S, BR_IF, 1],
    ...[GET, p, GET, i, ADD, SET, a],
    ...mask(0), SET, M,
    ...mask(16), SET, M2,
    GET, M, GET, M2, ...V_OR, ...ANY_TRUE, IF, VOID,
    ...[GET, M, ...ZERO, ...NE, ...BITMASK, GET, M2, ...ZERO, ...NE, ...BITMASK, CONST, 16, SHL, OR, SET, bits],
    // the last step: only positions below lim
    ...[GET, i, CONST, 32, ADD, GET, lim, GT_S, IF, VOID],
    ...[GET, bits, CONST, 1, GET, lim, GET, i, SUB, SHL, CONST, 1, SUB, AND, SET, bits, END],
    BLOCK, VOID, LOOP, VOID,
    ...[GET, bits, EQZ, BR_IF, 1],
    ...[GET, out, GET, n, CONST, 2, SHL, ADD, GET, i, GET, bits, CTZ, ADD, I32_STORE, 2, 0],
    ...[GET, n, CONST, 1, ADD, SET, n],
    ...[GET, bits, GET, bits, CONST, 1, SUB, AND, SET, bits],
    BR, 0, END, END,
    END, // if
    ...[GET, i, CONST, 32, ADD, SET, i],
    BR, 0,
    END, END,
    GET, n,
    END,
  ];
  const locals = vec([[...leb(5), I32], [...leb(10), V128]]);
  const code = [...locals, ...body];
  return [...leb(code.length), ...code];
}

function moduleBytes(): Uint8Array {
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])]])), // type: (i32 i32 i32) -> i32
    ...section(3, vec([[0]])), // function 0 of type 0
    ...section(5, vec([[0x00, 2]])), // memory: 2 pages, no maximum
    ...section(7, vec([[...name('scan'), 0x00, 0], [...name('mem'), 0x02, 0]])),
    ...section(10, vec([scanFunction()])),
  ]);
}

/** One word's first three bytes, each as the set of bytes it may be (its cases), and the bucket (0-7) it goes to. */
export interface Fingerprint {
  bytes: [number[], number[], number[]];
  bucket: number;
}

/** The module, compiled once (null: no WebAssembly SIMD here); each scanner is an instance with its own memory. */
let compiled: WebAssembly.Module | null | undefined;
function module(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

export class CandidateScanner {
  private mem: Uint8Array;
  private positions: Uint32Array;
  /** Where `candidates` left its positions in `list` (a u32 index). */
  at = 0;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly scan: (p: number, len: number, out: number) => number,
  ) {
    this.mem = new Uint8Array(memory.buffer);
    this.positions = new Uint32Array(memory.buffer);
  }

  /** A scanner for these fingerprints, or null where WebAssembly SIMD is not available. */
  static create(fingerprints: Fingerprint[]): CandidateScanner | null {
    const m = module();
    if (m === null) return null;
    const e = new WebAssembly.Instance(m).exports as { scan: (p: number, len: number, out: number) => number; mem: WebAssembly.Memory };
    const s = new CandidateScanner(e.mem, e.scan);
    for (const f of fingerprints) {
      for (let k = 0; k < 3; k++) {
        for (const c of f.bytes[k]) {
          s.mem[TABLES + 32 * k + (c & 15)]! |= 1 << f.bucket;
          s.mem[TABLES + 32 * k + 16 + (c >>> 4)]! |= 1 << f.bucket;
        }
      }
    }
    return s;
  }

  /**
   * Scans `b[from, end)`: returns how many candidates, whose positions (offsets from `from`, ascending) are
   * `list[at, at + count)`. Valid until the next call.
   */
  candidates(b: Uint8Array, from: number, end: number): number {
    const len = end - from;
    const out = (DATA + len + 48 + 15) & ~15;
    const need = out + 4 * len;
    if (need > this.mem.length) {
      this.memory.grow(Math.ceil((need - this.mem.length) / PAGE));
      this.mem = new Uint8Array(this.memory.buffer);
      this.positions = new Uint32Array(this.memory.buffer);
    }
    this.mem.set(b.subarray(from, end), DATA);
    this.at = out >>> 2;
    return this.scan(DATA, len, out);
  }

  get list(): Uint32Array {
    return this.positions;
  }
}
