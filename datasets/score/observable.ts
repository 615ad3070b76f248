import type { TruthPoint } from '../truth/types.js';

/** Edge kinds the scorer reports, named after the child call's protocol family. */
export type EdgeKind = 'http' | 'rpc' | 'db';
export const EDGE_KINDS: readonly EdgeKind[] = ['http', 'rpc', 'db'];

/**
 * What a ground-truth point looks like on the wire. `server`: the point runs inside a process that received a
 * request (wsgi, the consumer side of an RPC), so it maps to a server span. `client`: the point wraps a request
 * the process sends (SQL statement, RPC cast/call, neutron HTTP request), so it maps to a client span.
 */
export interface Observable {
  kind: EdgeKind;
  side: 'server' | 'client';
}

/** `nova.compute.rpcapi.ComputeAPI.build_and_run_instance` (and any `...API.method`) is the caller's side of an RPC. */
const RPC_CLIENT_FUNCTION = /\.rpcapi\.|API\.[A-Za-z0-9_]+$/;

/**
 * The observable of a truth point, or null for in-process function points (most `neutron_api` points: the
 * neutronclient call stack; only `...do_request` puts bytes on the wire). Unobservable points are contracted
 * away: their children hang off their nearest observable ancestor (see effectiveParents).
 */
export function observableOf(p: TruthPoint): Observable | null {
  switch (p.name) {
    case 'wsgi':
      return { kind: 'http', side: 'server' };
    case 'db':
      return { kind: 'db', side: 'client' };
    case 'rpc':
      return { kind: 'rpc', side: p.function && RPC_CLIENT_FUNCTION.test(p.function) ? 'client' : 'server' };
    case 'neutron_api':
      return p.function?.endsWith('.do_request') ? { kind: 'http', side: 'client' } : null;
    default:
      return null;
  }
}

/** The RPC method of an rpc point (`...Manager.object_action` -> `object_action`); null for oslo's generic wrapper. */
export function rpcMethodOf(p: TruthPoint): string | null {
  if (!p.function) return null;
  const last = p.function.slice(p.function.lastIndexOf('.') + 1);
  if (!last || last === 'inner' || p.function.includes('<locals>')) return null;
  return last;
}

/**
 * Nearest observable ancestor of every observable point (null for the points Tempest called directly, whose
 * caller has no point). Points of other traces are never parents; `inProcess` points (mapTruth's handler methods
 * called directly by another handler) are contracted like unobservable ones.
 */
export function effectiveParents(points: readonly TruthPoint[], inProcess: ReadonlySet<string> = new Set()): Map<string, string | null> {
  const byId = new Map(points.map((p) => [p.trace_id, p]));
  const out = new Map<string, string | null>();
  for (const p of points) {
    if (!observableOf(p) || inProcess.has(p.trace_id)) continue;
    let q = byId.get(p.parent_id);
    let guard = 0;
    while (q && (inProcess.has(q.trace_id) || !parentOnWire(q, p)) && guard++ < 1000) q = byId.get(q.parent_id);
    out.set(p.trace_id, q && q.base_id === p.base_id && observableOf(q) ? q.trace_id : null);
  }
  return out;
}

/**
 * Can `q` be `p`'s parent on the wire? Only an observable point can; and a call's point (the neutron client's
 * `do_request`) only of the callee's points: the neutron client's session authenticates with keystone inside
 * `do_request`, but those keystone requests are calls of the process beside the neutron request, not inside it
 * (seen on tempest-compute-servers-v2: a nova-conductor `migrate_server` whose `do_request` point held a keystone
 * `GET /v3` and `POST /v3/auth/tokens`).
 */
function parentOnWire(q: TruthPoint, p: TruthPoint): boolean {
  const o = observableOf(q);
  if (!o) return false;
  return !(o.kind === 'http' && o.side === 'client' && p.project !== NEUTRON_PROJECT);
}

/** The project a client-side HTTP point calls (observableOf: only the neutron client's `do_request` is one). */
const NEUTRON_PROJECT = 'neutron';

/** The `project/service` label the scorer reports per service (`keystone/public`, `nova/nova-conductor`). */
export function serviceOf(p: TruthPoint): string {
  return `${p.project}/${p.service}`;
}
