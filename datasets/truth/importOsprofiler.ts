import type { TruthEdge, TruthPoint } from './types.js';
import { STATEMENT_MAX } from './types.js';

/**
 * One node of `osprofiler trace show --json` output (osprofiler 3.4): `info` carries name/project/service and
 * the raw notifications `meta.raw_payload.<name>-start` / `-stop`; nesting follows `parent_id`.
 */
interface ReportNode {
  trace_id?: string;
  parent_id?: string;
  info?: Record<string, unknown>;
  children?: ReportNode[];
}

interface RawPayload {
  name?: string;
  base_id?: string;
  trace_id?: string;
  parent_id?: string;
  timestamp?: string;
  project?: string;
  service?: string;
  info?: Record<string, unknown>;
}

/**
 * Parses OSProfiler's notification timestamp (`2026-11-27T06:09:16.241850`, UTC, no zone, µs) into ns since
 * the epoch. Throws on anything else: a silently wrong clock would shift every match.
 */
export function parseOsprofilerTimestamp(ts: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]00:?00)?$/.exec(ts);
  if (!m) throw new Error(`truth: bad OSProfiler timestamp '${ts}'`);
  const secondsMs = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(secondsMs)) throw new Error(`truth: bad OSProfiler timestamp '${ts}'`);
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(secondsMs) * 1_000_000n + BigInt(frac);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

/** Splits `/v3/auth/tokens?nocatalog` style paths; OSProfiler normally already gives path and query apart. */
function splitPath(path: string | null, query: string | null): { path: string | null; query: string | null } {
  if (path === null) return { path, query };
  const i = path.indexOf('?');
  if (i < 0) return { path, query: query || null };
  return { path: path.slice(0, i), query: path.slice(i + 1) || query || null };
}

function toPoint(node: ReportNode, depth: number, baseHint: string | null): TruthPoint {
  const info = obj(node.info);
  const name = str(info.name);
  if (!name) throw new Error(`truth: point ${node.trace_id ?? '?'} has no info.name`);
  const start = obj(info[`meta.raw_payload.${name}-start`]) as RawPayload;
  const stop = obj(info[`meta.raw_payload.${name}-stop`]) as RawPayload;
  const traceId = node.trace_id ?? start.trace_id;
  const parentId = node.parent_id ?? start.parent_id;
  const baseId = start.base_id ?? stop.base_id ?? baseHint;
  if (!traceId || !parentId || !baseId) throw new Error(`truth: point '${name}' lacks trace_id/parent_id/base_id`);
  if (!start.timestamp) throw new Error(`truth: point ${traceId} has no start notification`);
  const startInfo = obj(start.info);
  const request = obj(startInfo.request);
  const db = obj(startInfo.db);
  const fn = obj(startInfo.function);
  const { path, query } = splitPath(str(request.path), str(request.query));
  const statement = str(db.statement);
  const exc = str(info.exception);
  return {
    base_id: baseId,
    trace_id: traceId,
    parent_id: parentId,
    name,
    project: str(info.project) ?? start.project ?? '',
    service: str(info.service) ?? start.service ?? '',
    host: str(info.host) ?? str(startInfo.host),
    started_ns: parseOsprofilerTimestamp(start.timestamp),
    finished_ns: stop.timestamp ? parseOsprofilerTimestamp(stop.timestamp) : null,
    depth,
    method: str(request.method),
    path,
    query,
    statement: statement === null ? null : statement.slice(0, STATEMENT_MAX),
    function: str(fn.name),
    exception: exc !== null && exc !== 'None' ? exc : null,
  };
}

/**
 * Flattens one `osprofiler trace show --json` report into points (pre-order, children by start time) and the
 * parent -> child edges between them. `baseId` is used only if no notification names it (never seen in
 * practice). Throws on a structurally broken report.
 */
export function importOsprofilerReport(report: unknown, baseId: string | null = null): {
  points: TruthPoint[];
  edges: TruthEdge[];
} {
  const root = obj(report) as ReportNode;
  if (!Array.isArray(root.children)) throw new Error('truth: not an OSProfiler report (no top-level children)');
  const points: TruthPoint[] = [];
  const edges: TruthEdge[] = [];
  const walk = (nodes: ReportNode[], depth: number, parent: TruthPoint | null): void => {
    for (const node of nodes) {
      const p = toPoint(node, depth, parent?.base_id ?? baseId);
      points.push(p);
      if (parent) {
        edges.push({
          base_id: p.base_id,
          parent_id: parent.trace_id,
          child_id: p.trace_id,
          parent_name: parent.name,
          child_name: p.name,
          parent_service: `${parent.project}/${parent.service}`,
          child_service: `${p.project}/${p.service}`,
        });
      }
      walk(node.children ?? [], depth + 1, p);
    }
  };
  walk(root.children, 1, null);
  return { points, edges };
}
