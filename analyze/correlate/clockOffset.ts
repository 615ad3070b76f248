import type { Engine } from '../engine/engine.js';
import type { Diagnostics } from '../diagnostics.js';

/** Bounds on (server node clock - client node clock) from calls matched between two nodes. */
export interface PairBounds {
  clientNode: string;
  serverNode: string;
  /** d <= hi: the server cannot read a request before the client sent it. */
  hi: bigint;
  /** d >= lo: the client cannot read a response before the server sent it. */
  lo: bigint;
  pairs: number;
}

/** A node's estimated clock offset: subtract `offsetNs` from its times to put them on the reference clock. */
export interface NodeClock {
  node: string;
  offsetNs: bigint;
  /** 'reference', 'estimated' (from matched calls), or 'unaligned' (no calls with aligned nodes: offset 0). */
  method: 'reference' | 'estimated' | 'unaligned';
  /** Width of the feasible interval the estimate is the middle of (ns), null if not estimated. */
  uncertaintyNs: bigint | null;
  pairs: number;
}

/** Syscall exit times can invert by a few µs across a loopback wake-up; bounds tighter than this are not a conflict. */
export const CLOCK_TOLERANCE_NS = 1_000_000n;

/**
 * Collects, per (client node, server node), the offset bounds from spatially matched calls, in SQL:
 * server recv of the request >= client send, client recv of the response >= server send.
 */
export async function clockBounds(engine: Engine): Promise<PairBounds[]> {
  const rows = await engine.query<{ cn: string; sn: string; hi: bigint; lo: bigint; n: bigint }>(`
    SELECT c.node AS cn, s.node AS sn, min(s.raw_start_ns - c.raw_start_ns) AS hi,
           max(s.raw_resp_start_ns - c.raw_resp_start_ns) AS lo, count(*) AS n
    FROM candidates e JOIN spans_raw c ON e.parent = c.span_id JOIN spans_raw s ON e.child = s.span_id
    WHERE e.evidence = 'spatial' AND c.node <> s.node
      AND c.raw_resp_start_ns IS NOT NULL AND s.raw_resp_start_ns IS NOT NULL
    GROUP BY c.node, s.node ORDER BY c.node, s.node`);
  return rows.map((r) => ({ clientNode: r.cn, serverNode: r.sn, hi: r.hi, lo: r.lo, pairs: Number(r.n) }));
}

/**
 * Estimates each node's offset to the reference node by walking matched node pairs outward from it, taking the
 * middle of each pair's feasible interval (both call directions intersected). Inconsistent bounds and nodes with
 * no path to the reference are warnings: their times stay as captured.
 */
export function estimateClocks(nodes: readonly string[], reference: string, bounds: readonly PairBounds[], diag: Diagnostics): NodeClock[] {
  // Interval for clock(b) - clock(a), per ordered pair.
  const intervals = new Map<string, { lo: bigint; hi: bigint; pairs: number }>();
  const put = (a: string, b: string, lo: bigint, hi: bigint, pairs: number): void => {
    const k = `${a}\u0000${b}`;
    const cur = intervals.get(k);
    if (!cur) intervals.set(k, { lo, hi, pairs });
    else intervals.set(k, { lo: cur.lo > lo ? cur.lo : lo, hi: cur.hi < hi ? cur.hi : hi, pairs: cur.pairs + pairs });
  };
  for (const b of bounds) {
    put(b.clientNode, b.serverNode, b.lo, b.hi, b.pairs);
    put(b.serverNode, b.clientNode, -b.hi, -b.lo, b.pairs);
  }
  const clocks = new Map<string, NodeClock>([[reference, { node: reference, offsetNs: 0n, method: 'reference', uncertaintyNs: null, pairs: 0 }]]);
  const queue = [reference];
  while (queue.length) {
    const a = queue.shift()!;
    const base = clocks.get(a)!.offsetNs;
    for (const b of nodes) {
      if (clocks.has(b)) continue;
      const iv = intervals.get(`${a}\u0000${b}`);
      if (!iv) continue;
      if (iv.lo > iv.hi + CLOCK_TOLERANCE_NS) {
        diag.warn(
          'clock-inconsistent',
          `clock offset of node ${b} to ${a}: matched calls give contradictory bounds (${iv.lo} > ${iv.hi} ns); using the middle, times between these nodes may be off`,
        );
      }
      clocks.set(b, { node: b, offsetNs: base + (iv.lo + iv.hi) / 2n, method: 'estimated', uncertaintyNs: iv.hi - iv.lo, pairs: iv.pairs });
      queue.push(b);
    }
  }
  for (const n of nodes) {
    if (clocks.has(n)) continue;
    diag.warn('clock-unaligned', `node ${n} has no calls matched with the reference node ${reference}: its clock cannot be aligned, times used as captured`);
    clocks.set(n, { node: n, offsetNs: 0n, method: 'unaligned', uncertaintyNs: null, pairs: 0 });
  }
  return nodes.map((n) => clocks.get(n)!);
}

/**
 * Stores the offsets (`node_clock`) and creates `spans_t`: spans_raw plus times on the reference clock. A view (no
 * step changes spans_raw after this one): a table would be a second copy of every span written into the database
 * file, which cost most of this step (10 M-event capture: 3.7 M spans, 39 columns).
 */
export async function applyClocks(engine: Engine, clocks: readonly NodeClock[]): Promise<void> {
  await engine.exec('CREATE OR REPLACE TABLE node_clock (node VARCHAR, offset_ns BIGINT, method VARCHAR, uncertainty_ns BIGINT, pairs INTEGER)');
  await engine.insertRows('node_clock', clocks.map((c) => [c.node, c.offsetNs, c.method, c.uncertaintyNs, c.pairs]));
  await engine.exec(`CREATE OR REPLACE VIEW spans_t AS
    SELECT r.*, r.raw_start_ns - coalesce(k.offset_ns, 0) AS start_ns, r.raw_end_ns - coalesce(k.offset_ns, 0) AS end_ns,
           r.raw_resp_start_ns - coalesce(k.offset_ns, 0) AS resp_start_ns
    FROM spans_raw r LEFT JOIN node_clock k ON r.node = k.node`);
}
