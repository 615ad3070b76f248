/** What the exporters read of a span. */
export interface ExportSpan {
  span_id: string;
  trace_id: string;
  parent_span_id: string | null;
  kind: 'client' | 'server' | 'producer' | 'consumer';
  node: string;
  pid: number;
  tid: number;
  service: string | null;
  protocol: string;
  method: string | null;
  path: string | null;
  status: string | null;
  start_ns: bigint;
  end_ns: bigint;
  local_addr: string | null;
  local_port: number | null;
  remote_addr: string | null;
  remote_port: number | null;
  request_ids: string[];
  evidence: string | null;
  confidence: number | null;
}

/** Span name shown by trace UIs: 'GET /v1/items'. */
export function spanName(s: ExportSpan): string {
  // [method, path].filter(Boolean).join(' ') || protocol, without the array (called for every exported span).
  if (s.method) return s.path ? `${s.method} ${s.path}` : s.method;
  return s.path || s.protocol;
}

/** Attributes common to both exports, as string pairs. */
export function spanAttributes(s: ExportSpan): [string, string | number][] {
  const a: [string, string | number][] = [
    ['nitrace.protocol', s.protocol],
    ['nitrace.node', s.node],
    ['process.pid', s.pid],
    ['thread.id', s.tid],
  ];
  if (s.method) a.push([s.protocol === 'http' ? 'http.request.method' : 'nitrace.method', s.method]);
  if (s.path) a.push([s.protocol === 'http' ? 'url.path' : 'nitrace.resource', s.path]);
  if (s.status) a.push([s.protocol === 'http' ? 'http.response.status_code' : 'nitrace.status', s.protocol === 'http' ? Number(s.status) : s.status]);
  if (s.local_addr) a.push(['network.local.address', s.local_addr]);
  if (s.local_port !== null) a.push(['network.local.port', s.local_port]);
  if (s.remote_addr) a.push(['network.peer.address', s.remote_addr]);
  if (s.remote_port !== null) a.push(['network.peer.port', s.remote_port]);
  if (s.request_ids.length) a.push(['nitrace.request_ids', s.request_ids.join(',')]);
  if (s.evidence) a.push(['nitrace.parent_evidence', s.evidence]);
  if (s.confidence !== null) a.push(['nitrace.parent_confidence', s.confidence]);
  return a;
}
