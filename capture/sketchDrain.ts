import { join } from 'node:path';
import { formatAddr } from './formatAddr.js';
import { PHYSICAL, writePlainParquet, type PlainColumn } from './plainParquet.js';

/**
 * One drain of the sketch-mode maps (capture/sketch_agent.py -> stdout, one JSON line) and its Parquet form.
 * Values are running totals since the capture began (the maps are never cleared); the per-window numbers are the
 * differences between consecutive drains.
 */
export interface StatsJson {
  send_calls: number;
  send_bytes: number;
  recv_calls: number;
  recv_bytes: number;
  exchanges: number;
  /** bucket -> count, non-empty buckets only */
  hist: Record<string, number>;
}

export interface DrainJson {
  type: 'drain';
  seq: number;
  final: boolean;
  clock: { realtime_ns: string; monotonic_ns: string; uncertainty_ns: number };
  conns: (StatsJson & {
    conn_id: string;
    opened_mono_ns: string;
    pid: number;
    role: number;
    family: number;
    laddr: string;
    lport: number;
    raddr: string;
    rport: number;
    netns: number;
  })[];
  procs: (StatsJson & { pid: number; role: number })[];
  countmin: number[];
  counters: Record<string, number>;
}

/** Kernel constants mirrored from capture/sketch.h (checked against it by sketchDrain.test.ts). */
export const SK_BUCKETS = 48;
export const SK_CM_DEPTH = 4;
export const SK_CM_WIDTH = 1024;
export const SK_CM_SEED = 0x6e69747261636521n;
export const ROLES: Record<number, string> = { 1: 'client', 2: 'server' };

/** Latency bucket b holds [2^(b-1), 2^b) ns (b >= 1); bucket 0 holds 0 ns. Same function as the kernel's. */
export function bucketOf(ns: number): number {
  const v = Math.floor(ns);
  if (v < 1) return 0;
  return Math.min(SK_BUCKETS - 1, v.toString(2).length); // bits of v = floor(log2 v) + 1, exactly
}

export function bucketBounds(b: number): { lo_ns: number; hi_ns: number } {
  return b === 0 ? { lo_ns: 0, hi_ns: 1 } : { lo_ns: 2 ** (b - 1), hi_ns: 2 ** b };
}

const M64 = (1n << 64n) - 1n;
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/**
 * The count-min cells (row-major indices) of (pid, remote address as the kernel's 16 bytes in hex, remote port):
 * the kernel's hash, recomputed (capture/sketch.bpf.c countmin_add).
 */
export function countMinCells(pid: number, raddrHex: string, rport: number): number[] {
  const bytes = Buffer.from(raddrHex.padEnd(32, '0'), 'hex');
  const a0 = bytes.readBigUInt64LE(0);
  const a1 = bytes.readBigUInt64LE(8);
  const h = mix64(((BigInt(pid) << 32n) | BigInt(rport)) ^ mix64(a0 ^ mix64(a1 ^ SK_CM_SEED)));
  const cells: number[] = [];
  for (let i = 0; i < SK_CM_DEPTH; i++) {
    const r = mix64((h + BigInt(i + 1) * 0x9e3779b97f4a7c15n) & M64);
    cells.push(i * SK_CM_WIDTH + Number(r & BigInt(SK_CM_WIDTH - 1)));
  }
  return cells;
}

/** The count-min estimate of exchanges between process `pid` and a remote endpoint, from a drain's cells. */
export function countMinEstimate(cells: readonly number[], pid: number, raddrHex: string, rport: number): number {
  return Math.min(...countMinCells(pid, raddrHex, rport).map((c) => cells[c]!));
}

/** Files one drain writes, next to each other in DIR/sketch/: drain-NNNNNN-{conns,procs,latency,countmin}.parquet. */
export const DRAIN_TABLES = ['conns', 'procs', 'latency', 'countmin'] as const;

export function drainFile(dir: string, seq: number, table: (typeof DRAIN_TABLES)[number]): string {
  return join(dir, 'sketch', `drain-${String(seq).padStart(6, '0')}-${table}.parquet`);
}

/** Column builders for the capture's plain Parquet writer (REQUIRED INT64 and UTF-8 columns). */
function int64(name: string, values: readonly (number | bigint)[]): PlainColumn {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), i * 8));
  return { name, type: PHYSICAL.INT64, data: b };
}
function utf8(name: string, values: readonly string[]): PlainColumn {
  const parts = values.map((v) => Buffer.from(v, 'utf8'));
  const b = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let off = 0;
  for (const p of parts) {
    b.writeUInt32LE(p.length, off);
    p.copy(b, off + 4);
    off += 4 + p.length;
  }
  return { name, type: PHYSICAL.BYTE_ARRAY, utf8: true, data: b };
}

/**
 * Writes one drain as four Parquet files (docs/capture-schema.md, "Sketch mode"); returns the bytes written.
 * `monoToRealtime` turns the drain's monotonic time into wall clock like the full capture's manifest offset.
 */
export async function writeDrain(dir: string, node: string, d: DrainJson): Promise<number> {
  const at = BigInt(d.clock.realtime_ns);
  const addr = (hex: string, family: number) => formatAddr(Buffer.from(hex, 'hex'), 0, family);
  const c = d.conns;
  const common = (n: number) => [utf8('node', Array(n).fill(node)), int64('drain_seq', Array(n).fill(d.seq)), int64('drain_ns', Array(n).fill(at))];
  let bytes = 0;
  bytes += await writePlainParquet(
    drainFile(dir, d.seq, 'conns'),
    [
      ...common(c.length),
      int64('conn_id', c.map((x) => BigInt(x.conn_id))),
      int64('pid', c.map((x) => x.pid)),
      utf8('role', c.map((x) => ROLES[x.role] ?? String(x.role))),
      utf8('local_addr', c.map((x) => addr(x.laddr, x.family))),
      int64('local_port', c.map((x) => x.lport)),
      utf8('remote_addr', c.map((x) => addr(x.raddr, x.family))),
      int64('remote_port', c.map((x) => x.rport)),
      int64('netns', c.map((x) => x.netns)),
      ...statColumns(c),
    ],
    c.length,
  );
  const p = d.procs;
  bytes += await writePlainParquet(
    drainFile(dir, d.seq, 'procs'),
    [...common(p.length), int64('pid', p.map((x) => x.pid)), utf8('role', p.map((x) => ROLES[x.role] ?? String(x.role))), ...statColumns(p)],
    p.length,
  );
  // Histograms in long form: one row per non-empty bucket, of a process (conn_id 0) or of a connection.
  const lat: { scope: string; pid: number; conn: bigint; role: number; b: number; n: number }[] = [];
  for (const x of p) for (const [b, n] of Object.entries(x.hist)) lat.push({ scope: 'process', pid: x.pid, conn: 0n, role: x.role, b: Number(b), n });
  for (const x of c) for (const [b, n] of Object.entries(x.hist)) lat.push({ scope: 'connection', pid: x.pid, conn: BigInt(x.conn_id), role: x.role, b: Number(b), n });
  bytes += await writePlainParquet(
    drainFile(dir, d.seq, 'latency'),
    [
      ...common(lat.length),
      utf8('scope', lat.map((x) => x.scope)),
      int64('pid', lat.map((x) => x.pid)),
      int64('conn_id', lat.map((x) => x.conn)),
      utf8('role', lat.map((x) => ROLES[x.role] ?? String(x.role))),
      int64('bucket', lat.map((x) => x.b)),
      int64('lo_ns', lat.map((x) => bucketBounds(x.b).lo_ns)),
      int64('hi_ns', lat.map((x) => bucketBounds(x.b).hi_ns)),
      int64('count', lat.map((x) => x.n)),
    ],
    lat.length,
  );
  const cells = d.countmin.map((n, i) => ({ row: Math.floor(i / SK_CM_WIDTH), col: i % SK_CM_WIDTH, n })).filter((x) => x.n > 0);
  bytes += await writePlainParquet(
    drainFile(dir, d.seq, 'countmin'),
    [...common(cells.length), int64('row', cells.map((x) => x.row)), int64('col', cells.map((x) => x.col)), int64('count', cells.map((x) => x.n))],
    cells.length,
  );
  return bytes;
}

function statColumns(rows: readonly StatsJson[]): PlainColumn[] {
  return [
    int64('send_calls', rows.map((x) => x.send_calls)),
    int64('send_bytes', rows.map((x) => x.send_bytes)),
    int64('recv_calls', rows.map((x) => x.recv_calls)),
    int64('recv_bytes', rows.map((x) => x.recv_bytes)),
    int64('exchanges', rows.map((x) => x.exchanges)),
  ];
}
