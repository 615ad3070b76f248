import { hash64Hex } from './hash64.js';

/** One span of a trace as the shape sketch needs it. */
export interface ShapeSpan {
  span_id: string;
  parent_span_id: string | null;
  /** What the span is, without ids: e.g. 'server keystone-wsgi-public GET /v3/users/{id}'. */
  label: string;
  start_ns: number;
  end_ns: number;
}

export interface TraceShape {
  /** 16 hex chars: the hash of the canonical tree. Equal trees (same labels, any child order) get equal ids. */
  shape: string;
  /** Root label(s), span count and depth, for people. */
  description: string;
  /** Latest end minus earliest start over the trace's spans. */
  latencyNs: number;
  spans: number;
}

/**
 * The canonical call-tree shape of one trace. A span's canonical form is its label followed by the sorted canonical
 * forms of its children; it is hashed bottom-up (each node hashes its label with its children's hashes), so the
 * cost is linear in the trace and deep traces do not build long strings. Spans whose parent is not in the trace
 * are roots; several roots hang under one virtual root so the trace still has one shape.
 */
export function canonicalShape(spans: readonly ShapeSpan[]): TraceShape {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, ShapeSpan[]>();
  const roots: ShapeSpan[] = [];
  for (const s of spans) {
    if (s.parent_span_id !== null && s.parent_span_id !== s.span_id && ids.has(s.parent_span_id)) {
      const list = children.get(s.parent_span_id);
      if (list) list.push(s);
      else children.set(s.parent_span_id, [s]);
    } else roots.push(s);
  }
  // Iterative post-order (deep traces would overflow a recursive walk); a cycle (bad input) is cut at the revisit.
  const hashOf = new Map<string, string>();
  const depthOf = new Map<string, number>();
  const state = new Map<string, 1 | 2>();
  for (const root of roots) {
    const stack: ShapeSpan[] = [root];
    while (stack.length > 0) {
      const s = stack[stack.length - 1]!;
      if (state.get(s.span_id) === undefined) {
        state.set(s.span_id, 1);
        for (const c of children.get(s.span_id) ?? []) if (state.get(c.span_id) === undefined) stack.push(c);
        continue;
      }
      stack.pop();
      if (state.get(s.span_id) === 2) continue;
      state.set(s.span_id, 2);
      const kids = (children.get(s.span_id) ?? []).filter((c) => hashOf.has(c.span_id));
      const kidHashes = kids.map((c) => hashOf.get(c.span_id)!).sort();
      hashOf.set(s.span_id, hash64Hex(`${s.label}(${kidHashes.join(',')})`));
      depthOf.set(s.span_id, 1 + Math.max(0, ...kids.map((c) => depthOf.get(c.span_id)!)));
    }
  }
  const rootHashes = roots.map((r) => hashOf.get(r.span_id)!).sort();
  const shape = roots.length === 1 ? rootHashes[0]! : hash64Hex(`*(${rootHashes.join(',')})`);
  const rootLabels = [...new Set(roots.map((r) => r.label))].sort();
  const depth = Math.max(0, ...roots.map((r) => depthOf.get(r.span_id)!)) + (roots.length > 1 ? 1 : 0);
  let start = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    start = Math.min(start, s.start_ns);
    end = Math.max(end, s.end_ns);
  }
  const head = rootLabels.length === 1 ? rootLabels[0]! : `${roots.length} roots: ${rootLabels.slice(0, 3).join(' | ')}${rootLabels.length > 3 ? ' | ...' : ''}`;
  return { shape, description: `${head} [${spans.length} spans, depth ${depth}]`, latencyNs: Math.max(0, end - start), spans: spans.length };
}
