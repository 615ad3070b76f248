import type { TruthPoint } from '../truth/types.js';
import type { ObservedSpan } from './observed.js';
import { observableOf, rpcMethodOf, serviceOf, type Observable } from './observable.js';

/**
 * Maps ground-truth points to observed spans (docs/scoring.md, "Mapping"). Independent of any reconstruction:
 * it reads only span attributes (side, protocol, port, method, path, process) and time, so the reconstruction
 * and every baseline are scored against the same mapping.
 */
export interface MapOptions {
  /** Largest |Δstart| + |Δend| accepted between a point and its span, after clock alignment (µs). */
  toleranceUs: number;
  /** Listening port of each service's API (`project` or `project/service` -> port). */
  ports: Record<string, number>;
}

export const DEFAULT_PORTS: Record<string, number> = {
  keystone: 5000,
  glance: 9292,
  placement: 8778,
  'nova/osapi_compute': 8774,
  neutron: 9696,
};

/** How far a call's span may start outside the request that made it (clock rounding, µs). */
const ENCLOSING_SLACK_US = 5_000;

/** A client-side point's constraint: the process and time of the request (truth point) it was made in. */
interface Enclosure {
  pid: number;
  lo: number;
  hi: number;
}

export const DEFAULT_MAP_OPTIONS: MapOptions = { toleranceUs: 50_000, ports: DEFAULT_PORTS };

/** Process labels that name each OSProfiler service (spans.parquet `service` / `comm`). */
const SERVICE_LABELS: Record<string, RegExp> = {
  keystone: /keystone/i,
  glance: /glance/i,
  placement: /placement/i,
  'nova/osapi_compute': /nova-api|osapi/i,
  'nova/nova-conductor': /conductor/i,
  'nova/nova-scheduler': /scheduler/i,
  'nova/nova-compute': /nova-compute/i,
};

const DB_PROTOCOLS = new Set(['mysql', 'mariadb', 'sql', 'postgres', 'postgresql']);
const RPC_PROTOCOLS = new Set(['amqp', 'rpc', 'oslo.messaging', 'rabbitmq']);

export interface Mapping {
  /** truth point id -> span id */
  spanOf: Map<string, string>;
  /** Clock offset applied: observed time - truth time (µs), estimated from unambiguous HTTP matches. */
  offsetUs: number;
  /**
   * RPC handler points that were no delivery: a manager method another handler of the same process called directly
   * (see inProcessHandlers). They are contracted like in-process function points.
   */
  inProcess: Set<string>;
}

function lookup<T>(table: Record<string, T>, p: TruthPoint): T | undefined {
  return table[serviceOf(p)] ?? table[p.project];
}

/**
 * SQL folded so that SQLAlchemy's statement (bind placeholders `%(name)s`) and the statement on the wire (values
 * inlined by PyMySQL, or already replaced by `?` in spans.parquet) compare equal: lower case, blanks collapsed,
 * placeholders, quoted strings, number literals and NULL/TRUE/FALSE all become `?`.
 */
export function sqlKey(sql: string): string {
  return sql
    .toLowerCase()
    .replace(/%\(\w+\)s|%s/g, '?')
    .replace(/'(?:[^'\\]|\\.|'')*(?:'|$)/g, '?')
    .replace(/"(?:[^"\\]|\\.|"")*(?:"|$)/g, '?')
    .replace(/(?<![\w.$`])-?\d+(?:\.\d+)?\b/g, '?')
    .replace(/(?<![\w.$`])(?:null|true|false)\b/g, '?') // PyMySQL inlines None/True/False as keywords
    .replace(/\s+/g, ' ')
    .trim();
}

/** Shortest common head two SQL texts must share (the wire keeps a head only: spans.parquet cuts at 200 chars). */
const SQL_MIN_HEAD = 8;

/** Does the wire SQL head `wire` carry the statement `truth`? Equal after sqlKey, over the shorter of the two. */
export function sqlMatches(wire: string | null, truth: string | null): boolean {
  if (!wire || !truth) return false;
  const a = sqlKey(wire);
  const b = sqlKey(truth);
  const n = Math.min(a.length, b.length);
  if (n < Math.min(SQL_MIN_HEAD, Math.max(a.length, b.length))) return false;
  return a.slice(0, n) === b.slice(0, n);
}

/** A path as both sides can agree on: no query, no trailing slash, percent-escapes decoded (the wire has
 * `01%2007%3A13%3A04` where webob's OSProfiler point says `01%2007:13:04`). */
export function normPath(p: string | null): string {
  if (!p) return '';
  const q = p.indexOf('?');
  const s = decodePercent(q >= 0 ? p.slice(0, q) : p);
  return s.length > 1 && s.endsWith('/') ? s.slice(0, -1) : s;
}

function decodePercent(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray '%' that is no escape: compare as written
  }
}

function toUs(ns: bigint | null): number | null {
  return ns === null ? null : Number(ns / 1000n) + Number(ns % 1000n) / 1000;
}

/** Does span `s` have the shape of point `p` (ignoring time and process)? */
function shapeMatches(p: TruthPoint, o: Observable, s: ObservedSpan, opts: MapOptions): boolean {
  if (s.kind !== o.side) return false;
  const proto = (s.protocol ?? '').toLowerCase();
  if (o.kind === 'http') {
    if (proto !== 'http') return false;
    if (o.side === 'server') {
      const port = lookup(opts.ports, p);
      if (port !== undefined && s.local_port !== null && s.local_port !== port) return false;
      return (s.method ?? '').toUpperCase() === (p.method ?? '').toUpperCase() && normPath(s.path) === normPath(p.path);
    }
    return s.remote_port === (opts.ports.neutron ?? 9696);
  }
  if (o.kind === 'db') return DB_PROTOCOLS.has(proto) && sqlMatches(s.path, p.statement);
  if (!RPC_PROTOCOLS.has(proto)) return false;
  const m = rpcMethodOf(p);
  if (!m) return true;
  // spans whose method is an AMQP frame method carry no RPC name: time decides
  return s.method === m || (s.path ?? '').includes(m) || !s.method || /^basic\./.test(s.method);
}

/** An RPC span no longer than this is one message (a cast's, or a call whose reply was not paired). */
const RPC_SINGLE_MESSAGE_US = 1_000;
/**
 * Weight of how long after the handler's point a whole call's reply went: it is sent once the handler returned, by a
 * busy hub's delay. A reply before the point stopped is another call's (the handler cannot have answered yet): it
 * costs in full. Seen: nova-compute's start_instance and a periodic task called nova-conductor's
 * object_class_action_versions 5 ms apart; the periodic one, delivered closer to the profiled handler's start,
 * was replied to 8 ms before that handler stopped, and took its point (cv-rpc, session 13).
 */
const RPC_END_WEIGHT = 0.1;
/** Weight of an end difference the wire allows (see mappingCost): small, so it still tells apart close neighbours. */
const INSIDE_END_WEIGHT = 0.25;

/**
 * How far span `s` is from a point that ran from `ts` to `tf` (µs, clocks aligned), by how each observable sits in
 * its wire span. A service handles a request inside the server span's bytes (OSProfiler's WSGI point starts after
 * the first byte and stops before the last); a call's bytes lie inside the client point that made them
 * (SQLAlchemy's cursor execute, the neutron client's do_request), whose ends a busy green-thread hub can move by
 * far more than the call took. So an end on the impossible side costs in full, one on the expected side a quarter.
 * An RPC span that is one message says nothing by its end; one that is a whole call (handled until its reply, or
 * made until the reply came back) ends about when the point does, a weak tie-breaker between calls of one method.
 */
function mappingCost(o: Observable, s: ObservedSpan, ts: number, tf: number): number {
  if (o.kind === 'rpc' && o.side === 'client') {
    // The caller's point (rpcapi's cast/call) encloses its publish, and a call's reply: its messages lie inside it.
    // One message (a cast, or a call whose reply was not paired) says nothing by how long the point went on after it.
    if (s.end_us - s.start_us > RPC_SINGLE_MESSAGE_US) return containmentCost(-1, ts - s.start_us, s.end_us - tf);
    return containmentCost(-1, ts - s.start_us, 0) + Math.max(0, s.start_us - tf);
  }
  if (o.kind === 'rpc') {
    // The handler starts after its delivery, by as much as a busy hub delays the green thread (53 ms seen).
    const start = containmentCost(1, ts - s.start_us, 0);
    if (s.end_us - s.start_us <= RPC_SINGLE_MESSAGE_US) return start;
    const late = s.end_us - tf;
    return start + (late >= 0 ? RPC_END_WEIGHT * late : -late);
  }
  const end = s.end_us > s.start_us ? s.end_us : null;
  const before = ts - s.start_us;
  if (o.side === 'client') {
    // A call's point ends right after its response's last byte is read (no green-thread switch in between), but
    // may start long before its request (a green thread waiting for a pooled connection, the neutron client
    // authenticating first): on the compute samples the SQL point's end is a median 0.23 ms after its response,
    // its start a median 7.7 ms before its request. So the end tells apart two green threads' identical statements
    // (oslo.db's `SELECT 1` pings) that both lie inside the point; the start is weighed by CLIENT_START_WEIGHT.
    const after = end === null ? before : end - tf;
    return containmentCost(-1, before, after, CLIENT_START_WEIGHT) + (after > 0 ? (CLIENT_LATE_END_WEIGHT - 1) * after : 0);
  }
  return end === null ? containmentCost(1, before, before) : containmentCost(1, before, end - tf);
}

/**
 * Weight of how long a client span goes on after its point stopped. The point (SQLAlchemy's execute, the neutron
 * client's do_request) stops after its response's last byte was read, on the same clock: a span ending later is
 * another green thread's call, or the clock alignment is off (on the compute samples the offset is bounded to
 * +0.05 ms by the HTTP server matches). Costing it only in full let another green thread's `SELECT 1` ending 0.3 ms
 * after the point beat the point's own ping ending 3.7 ms before it (a hub switch), and an unprofiled green thread's
 * neutron request ending 7 ms after a `do_request` point beat the one inside it (compute-large, 2 of 30 traces).
 */
const CLIENT_LATE_END_WEIGHT = 10;

/** Weight of how long a client point ran before its request (see mappingCost): a tenth of the end's. */
const CLIENT_START_WEIGHT = INSIDE_END_WEIGHT / 10;

/**
 * Cost of a span whose start is `before` earlier and end `after` later than its point's (µs; negative: inside the
 * point). `sign` 1: the span should reach beyond the point (server side), -1: lie inside it (client side).
 */
function containmentCost(sign: 1 | -1, before: number, after: number, insideStartWeight = INSIDE_END_WEIGHT): number {
  const cost = (d: number, inside: number): number => (d * sign >= 0 ? inside * Math.abs(d) : Math.abs(d));
  return cost(before, insideStartWeight) + cost(after, INSIDE_END_WEIGHT);
}

interface Candidate {
  point: string;
  span: string;
  cost: number;
  /**
   * For the time-order tie-break in assign(): the instant of the point and of the span that follow each other without
   * a green-thread switch (a server point's start and its request's first byte, a client point's end and its
   * response's last byte), and the span's process.
   */
  pointAt: number;
  spanAt: number;
  pid: number | null;
}

/** Assigns point -> span one to one, cheapest pairs first. */
function greedy(cands: Candidate[], spanOf: Map<string, string>, used: Set<string>): void {
  cands.sort((a, b) => a.cost - b.cost || (a.point < b.point ? -1 : 1));
  for (const c of cands) {
    if (spanOf.has(c.point) || used.has(c.span)) continue;
    spanOf.set(c.point, c.span);
    used.add(c.span);
  }
}

/**
 * Greedy, then local repairs until none helps: two points swap spans when each can take the other's and the sum
 * of their costs drops, and a point left without a span takes one whose holder can move to a free span. Cheapest
 * pairs first can force a neighbour onto a worse span: two oslo.db pool pings of two green threads 20 ms apart,
 * each inside its own point, were mapped crosswise when one point's start happened to lie closer to the other's
 * bytes. Reads costs only, so every method is scored on the same mapping.
 */
function assign(cands: Candidate[], spanOf: Map<string, string>, used: Set<string>): void {
  greedy(cands, spanOf, used);
  const costs = new Map<string, Map<string, number>>();
  const pointAt = new Map<string, number>();
  const spanAt = new Map<string, [number, number | null]>();
  for (const c of cands) {
    (costs.get(c.point) ?? costs.set(c.point, new Map()).get(c.point)!).set(c.span, c.cost);
    pointAt.set(c.point, c.pointAt);
    spanAt.set(c.span, [c.spanAt, c.pid]);
  }
  /** Do p1 -> s1 and p2 -> s2 reverse the time order (in one process, points and their bytes keep their order)? */
  const crossed = (p1: string, s1: string, p2: string, s2: string): boolean => {
    const [a, pidA] = spanAt.get(s1)!;
    const [b, pidB] = spanAt.get(s2)!;
    return pidA === pidB && (pointAt.get(p1)! - pointAt.get(p2)!) * (a - b) < 0;
  };
  const holder = new Map<string, string>();
  for (const [point, span] of spanOf) if (costs.has(point)) holder.set(span, point);
  const give = (point: string, span: string): void => {
    spanOf.set(point, span);
    holder.set(span, point);
    used.add(span);
  };
  for (let round = 0; round < MAX_REPAIR_ROUNDS; round++) {
    let changed = false;
    for (const [p1, mine] of costs) {
      const s1 = spanOf.get(p1);
      for (const [s2, c12] of mine) {
        if (s2 === s1) continue;
        const p2 = holder.get(s2);
        if (p2 === undefined) continue; // free spans were offered by greedy; spans of earlier passes are not ours
        const theirs = costs.get(p2)!;
        if (s1 === undefined) {
          // p1 has no span: p2 yields s2 if it can move to a span nobody holds
          const free = [...theirs].filter(([s]) => !used.has(s)).sort((a, b) => a[1] - b[1])[0];
          if (!free) continue;
          give(p2, free[0]);
          give(p1, s2);
          changed = true;
          break;
        }
        const c21 = theirs.get(s1);
        if (c21 === undefined) continue;
        const delta = c12 + c21 - (mine.get(s1)! + theirs.get(s2)!);
        // Cheaper, unless it reverses the order of two points of one process for less than ORDER_TIE_US; or
        // about as cheap and it restores that order.
        const uncross = crossed(p1, s1, p2, s2);
        if (!(delta < -ORDER_TIE_US || (delta < -1e-9 && !crossed(p1, s2, p2, s1)) || (delta <= ORDER_TIE_US && uncross))) continue;
        give(p1, s2);
        give(p2, s1);
        changed = true;
        break;
      }
    }
    if (!changed) break;
  }
}

/**
 * How much farther a point that found no span within the tolerance may look, among the spans no point took. A busy
 * process can delay a point far beyond its bytes: nova-api's WSGI point of a 3 s `POST /servers` started 393 ms
 * after uWSGI read the request (load ~20), a keystone SQL point ended 300 ms after its response, a nova-conductor
 * one 1.7 s after; unmapped, such a point also turns every right edge below it into a wrong one.
 */
const SECOND_CHANCE_FACTOR = 10;

/** Points still without a span take, cheapest first, spans nobody holds within SECOND_CHANCE_FACTOR x the tolerance. */
function secondChance<T extends { p: TruthPoint }>(
  points: T[],
  candidatesOf: (subset: T[], tol: number) => Candidate[],
  tol: number,
  spanOf: Map<string, string>,
  used: Set<string>,
): void {
  const left = points.filter((x) => !spanOf.has(x.p.trace_id));
  if (left.length > 0) greedy(candidatesOf(left, tol * SECOND_CHANCE_FACTOR), spanOf, used);
}

/**
 * Costs this close (µs) cannot tell two assignments apart (the clock alignment alone is uncertain by about this
 * much); then the one that keeps the time order of the points in their process wins. A poller spawns RPC handlers
 * in the order it read their deliveries, so handler points start in the order of their requests' first bytes; a
 * SQL point ends right after its response's last byte is read (its start may wait for a pooled connection, so only
 * the end keeps the order). Seen: two nova-conductor `object_action` handlers 6 ms apart mapped crosswise at an equal
 * cost (greedy took the cheapest pair first), making all 20 of their edges wrong.
 */
const ORDER_TIE_US = 1_000;

/** Repair rounds over all points; each round only lowers the total cost or maps one more point, so few are needed. */
const MAX_REPAIR_ROUNDS = 20;

/**
 * The clock offset (observed - truth, µs) that the most HTTP server matches allow. A service handles a request
 * inside its span's bytes, so each match bounds the offset on both sides: at least span start - point start (the
 * first byte came before the middleware started), at most span end - point end (the last byte went after it
 * stopped). The offset is the middle of the range covered by the most of those intervals; a wrong pass-1 match
 * only adds an interval elsewhere. (The median of the start differences alone was biased by the time from the first
 * request byte to OSProfiler's middleware, ~0.9 ms on the compute samples, which is no clock difference: on a
 * shared clock it moved every SQL point ~0.9 ms early, so its own call's response seemed to end after it and a
 * concurrent green thread's statement of the same text, lying inside, won the mapping.)
 */
export function offsetFromIntervals(intervals: readonly [number, number][]): number {
  const ends: [number, number][] = [];
  for (const [lo, hi] of intervals) if (lo <= hi) ends.push([lo, 1], [hi, -1]);
  if (ends.length === 0) {
    // no consistent interval at all: the start differences alone (the old estimate)
    const xs = intervals.map(([lo]) => lo).sort((a, b) => a - b);
    return xs.length === 0 ? 0 : xs[xs.length >> 1]!;
  }
  ends.sort((a, b) => a[0] - b[0] || b[1] - a[1]); // an interval that opens where another closes overlaps it
  let depth = 0;
  let best = -1;
  let from = 0;
  let to = 0;
  for (let i = 0; i < ends.length; i++) {
    depth += ends[i]![1];
    if (ends[i]![1] === 1 && depth > best) {
      best = depth;
      from = ends[i]![0];
      to = ends[i + 1]![0]; // the next boundary: where the depth changes again
    }
  }
  return Number.isFinite(to) ? (from + to) / 2 : from;
}

/** Spans sorted by start, with a binary search for a start window. */
class StartIndex {
  private readonly spans: ObservedSpan[];
  constructor(spans: ObservedSpan[]) {
    this.spans = [...spans].sort((a, b) => a.start_us - b.start_us);
  }
  *between(lo: number, hi: number): Iterable<ObservedSpan> {
    let a = 0;
    let b = this.spans.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (this.spans[m]!.start_us < lo) a = m + 1;
      else b = m;
    }
    for (let i = a; i < this.spans.length && this.spans[i]!.start_us <= hi; i++) yield this.spans[i]!;
  }
}

export function mapTruth(points: readonly TruthPoint[], spans: readonly ObservedSpan[], opts = DEFAULT_MAP_OPTIONS): Mapping {
  const bySide = { server: new StartIndex(spans.filter((s) => s.kind === 'server')), client: new StartIndex(spans.filter((s) => s.kind === 'client')) };
  const observables = points.map((p) => ({ p, o: observableOf(p) })).filter((x): x is { p: TruthPoint; o: Observable } => x.o !== null);

  const candidates = (
    subset: { p: TruthPoint; o: Observable }[],
    offset: number,
    tol: number,
    pidsOf: Map<string, Set<number>> | null,
    enclosing: Map<string, Enclosure> = new Map(),
  ): Candidate[] => {
    const out: Candidate[] = [];
    for (const { p, o } of subset) {
      const encl = enclosing.get(p.trace_id);
      const ts = toUs(p.started_ns)! + offset;
      const tf = (toUs(p.finished_ns) ?? toUs(p.started_ns)!) + offset;
      const pids = pidsOf?.get(serviceOf(p));
      const label = lookup(SERVICE_LABELS, p);
      // The window admits every start mappingCost can accept: an end on the expected side costs a quarter.
      for (const s of bySide[o.side].between(ts - tol / INSIDE_END_WEIGHT, ts + tol / INSIDE_END_WEIGHT)) {
        // RPC spans are single messages (a cast, or a call whose reply is its own span): their end says nothing
        // about the point's end, so they match on the start alone; so does a span whose response was never seen
        const cost = mappingCost(o, s, ts, tf);
        if (cost > tol || !shapeMatches(p, o, s, opts)) continue;
        if (encl) {
          // a call the process made while serving a request: same process, inside the request's span
          if (s.pid !== encl.pid || s.start_us < encl.lo || s.start_us > encl.hi) continue;
        } else if (pidsOf && !(o.kind === 'http' && o.side === 'server')) {
          const byPid = pids !== undefined && s.pid !== null && pids.has(s.pid);
          const byLabel = label !== undefined && label.test(`${s.service ?? ''} ${s.comm ?? ''}`);
          if (!byPid && !byLabel) continue;
        }
        const client = o.side === 'client';
        out.push({ point: p.trace_id, span: s.span_id, cost, pointAt: client ? tf : ts, spanAt: client ? s.end_us : s.start_us, pid: s.pid });
      }
    }
    return out;
  };

  // Pass 1: HTTP server points (method + path + port pin them down) with a wide window, to measure the clock offset
  // and learn which processes serve which OSProfiler service.
  const httpServer = observables.filter((x) => x.o.kind === 'http' && x.o.side === 'server');
  const first = new Map<string, string>();
  greedy(candidates(httpServer, 0, 2_000_000, null), first, new Set());
  const spanById = new Map(spans.map((s) => [s.span_id, s]));
  const pointById = new Map(points.map((p) => [p.trace_id, p]));
  const bounds: [number, number][] = [];
  const pidsOf = new Map<string, Set<number>>();
  for (const [pid, sid] of first) {
    const p = pointById.get(pid)!;
    const s = spanById.get(sid)!;
    const end = toUs(p.finished_ns);
    bounds.push([s.start_us - toUs(p.started_ns)!, end === null || s.end_us <= s.start_us ? Infinity : s.end_us - end]);
    if (s.pid !== null) {
      const key = serviceOf(p);
      if (!pidsOf.has(key)) pidsOf.set(key, new Set());
      pidsOf.get(key)!.add(s.pid);
    }
  }
  const offsetUs = offsetFromIntervals(bounds);

  // Pass 2: server-side points (requests a service handled), aligned, within the tolerance.
  const spanOf = new Map<string, string>();
  const used = new Set<string>();
  const servers = observables.filter((x) => x.o.side === 'server');
  assign(candidates(servers, offsetUs, opts.toleranceUs, pidsOf), spanOf, used);
  secondChance(servers, (subset, tol) => candidates(subset, offsetUs, tol, pidsOf), opts.toleranceUs, spanOf, used);
  const inProcess = inProcessHandlers(servers, pointById, spanOf);
  // Pass 3: client-side points (SQL, RPC casts/calls, neutron requests). OSProfiler records them in the process that
  // makes the call, so when the request that process was serving (nearest server-side ancestor of the same
  // service) has a span, the call's span must come from that process and start inside that request's time. This uses the truth's
  // structure and span attributes only (pid, times), never the reconstruction's edges or thread ids.
  // How long each point's work went on: its own end, or a later end of any point below it (work it handed to a green
  // thread it spawned, as nova's compute does with builds, ends after the RPC point that started it).
  const extent = new Map<string, number>();
  for (const p of points) {
    const end = toUs(p.finished_ns) ?? toUs(p.started_ns)!;
    let q: TruthPoint | undefined = p;
    for (let guard = 0; q && guard < 1000; guard++, q = pointById.get(q.parent_id)) {
      if ((extent.get(q.trace_id) ?? -Infinity) >= end) break;
      extent.set(q.trace_id, end);
    }
  }
  const enclosing = new Map<string, Enclosure>();
  for (const { p, o } of observables) {
    if (o.side !== 'client') continue;
    let q = pointById.get(p.parent_id);
    for (let guard = 0; q && guard < 1000; guard++, q = pointById.get(q.parent_id)) {
      if (serviceOf(q) !== serviceOf(p)) break;
      if (observableOf(q)?.side === 'server' && !inProcess.has(q.trace_id)) {
        const sid = spanOf.get(q.trace_id);
        const pid = sid ? spanById.get(sid)!.pid : null;
        if (pid !== null) {
          // the request's time from the truth, up to the end of the work it started (an RPC span is one message
          // long, so not the span's)
          const lo = toUs(q.started_ns)! + offsetUs - ENCLOSING_SLACK_US;
          const hi = extent.get(q.trace_id)! + offsetUs + ENCLOSING_SLACK_US;
          enclosing.set(p.trace_id, { pid, lo, hi });
        }
        break;
      }
    }
  }
  const clients = observables.filter((x) => x.o.side === 'client');
  assign(candidates(clients, offsetUs, opts.toleranceUs, pidsOf, enclosing), spanOf, used);
  secondChance(clients, (subset, tol) => candidates(subset, offsetUs, tol, pidsOf, enclosing), opts.toleranceUs, spanOf, used);
  return { spanOf, offsetUs, inProcess };
}

/**
 * RPC handler points that no delivery started: OSProfiler traces every public method of a manager class, so a handler
 * that calls another handler method of its own manager directly records a second handler point inside the first,
 * with nothing on the wire (nova-compute's rebuild_instance of a stopped server ends by calling `self.stop_instance`:
 * a `ComputeManager.stop_instance` point 1.7 s into the rebuild, whose conductor calls the reconstruction rightly
 * put under the rebuild's delivery). One is told from a real RPC the process made to itself (nova-compute's
 * resize_instance casting finish_resize to its own host looks the same in the truth) by the wire alone: a handler
 * point that found no server span, lying inside the time of a handler point of the same service that did.
 */
function inProcessHandlers(
  servers: readonly { p: TruthPoint; o: Observable }[],
  pointById: ReadonlyMap<string, TruthPoint>,
  spanOf: ReadonlyMap<string, string>,
): Set<string> {
  const out = new Set<string>();
  for (const { p, o } of servers) {
    if (o.kind !== 'rpc' || spanOf.has(p.trace_id)) continue;
    const q = pointById.get(p.parent_id);
    const oq = q ? observableOf(q) : null;
    if (!q || !oq || oq.kind !== 'rpc' || oq.side !== 'server' || serviceOf(q) !== serviceOf(p) || !spanOf.has(q.trace_id)) continue;
    if (q.finished_ns === null || p.finished_ns === null || p.started_ns < q.started_ns || p.finished_ns > q.finished_ns) continue;
    out.add(p.trace_id);
  }
  return out;
}
