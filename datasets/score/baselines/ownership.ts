import type { ObservedEdge, ObservedSpan } from '../observed.js';

/**
 * Shared frame of the classic baselines. Each baseline decides only *ownership*: which inbound request (server
 * span) of the same process or thread owns each outbound call (client span). The links between the two sides of
 * one call (client span -> server span, evidence `spatial` or message ids through a broker) are taken from the
 * reconstruction's edges.parquet, because they are not what the baselines are about; with no edges file they are
 * rebuilt from matching socket 4-tuples.
 */
export type OwnerRule = (call: ObservedSpan, inbound: readonly ObservedSpan[]) => ObservedSpan | null;

/** Processes that relay or store, never own application work (their spans are skipped when walking up). */
export const TRANSPARENT_SERVICES = /rabbit|beam|epmd|mariadb|mysqld|redis|memcached/i;

export function isInbound(s: ObservedSpan): boolean {
  return s.kind === 'server' && !TRANSPARENT_SERVICES.test(`${s.service ?? ''} ${s.comm ?? ''}`);
}

/** client span -> server span links of the same call: from the reconstruction, else from socket 4-tuples. */
export function callLinks(spans: readonly ObservedSpan[], edges: readonly ObservedEdge[]): Map<string, string> {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const links = new Map<string, string>();
  for (const e of edges) {
    const p = byId.get(e.parent_span_id);
    const c = byId.get(e.child_span_id);
    if (p?.kind === 'client' && c?.kind === 'server') links.set(c.span_id, p.span_id);
  }
  if (edges.length > 0) return links;
  return tupleLinks(spans);
}

/** Fallback pairing: the client span whose connection mirrors the server span's, latest start not after it. */
function tupleLinks(spans: readonly ObservedSpan[]): Map<string, string> {
  const clients = new Map<string, ObservedSpan[]>();
  const key = (a: number | null, b: number | null) => `${a}>${b}`;
  for (const s of spans) {
    if (s.kind !== 'client') continue;
    const k = key(s.local_port, s.remote_port);
    (clients.get(k) ?? clients.set(k, []).get(k)!).push(s);
  }
  const links = new Map<string, string>();
  for (const s of spans) {
    if (s.kind !== 'server') continue;
    const cands = clients.get(key(s.remote_port, s.local_port)) ?? [];
    let best: ObservedSpan | null = null;
    for (const c of cands) if (c.start_us <= s.start_us && (!best || c.start_us > best.start_us)) best = c;
    if (best) links.set(s.span_id, best.span_id);
  }
  return links;
}

/**
 * Builds a baseline's parent map: call links plus, for every client span, the owner `rule` picks among the
 * inbound spans of the same process (`scope: 'process'`) or thread (`scope: 'thread'`).
 */
export function baselineParents(
  spans: readonly ObservedSpan[],
  edges: readonly ObservedEdge[],
  scope: 'process' | 'thread',
  rule: OwnerRule,
): Map<string, string> {
  const parent = callLinks(spans, edges);
  const groupKey = (s: ObservedSpan) => (scope === 'process' ? `${s.pid}` : `${s.pid}/${s.tid}`);
  const inbound = new Map<string, ObservedSpan[]>();
  for (const s of spans) {
    if (!isInbound(s)) continue;
    const k = groupKey(s);
    (inbound.get(k) ?? inbound.set(k, []).get(k)!).push(s);
  }
  for (const list of inbound.values()) list.sort((a, b) => a.start_us - b.start_us);
  for (const s of spans) {
    if (s.kind !== 'client') continue;
    const owner = rule(s, inbound.get(groupKey(s)) ?? []);
    if (owner) parent.set(s.span_id, owner.span_id);
  }
  return parent;
}
