import { spanAttributes, spanName, type ExportSpan } from './spanRows.js';

/** One trace in Jaeger UI's JSON: times in microseconds, one process per (service, node) within the trace. */
export function jaegerTrace(traceID: string, list: readonly ExportSpan[]): unknown {
  const processes: Record<string, { serviceName: string; tags: unknown[] }> = {};
  const processIds = new Map<string, string>();
  const processOf = (s: ExportSpan): string => {
    const k = `${s.service ?? 'unknown'}\u0000${s.node}`;
    let id = processIds.get(k);
    if (!id) {
      id = `p${processIds.size + 1}`;
      processIds.set(k, id);
      processes[id] = { serviceName: s.service ?? 'unknown', tags: [{ key: 'hostname', type: 'string', value: s.node }] };
    }
    return id;
  };
  return {
    traceID,
    spans: list.map((s) => ({
      traceID,
      spanID: s.span_id,
      operationName: spanName(s),
      references: s.parent_span_id ? [{ refType: 'CHILD_OF', traceID, spanID: s.parent_span_id }] : [],
      startTime: Number(s.start_ns / 1000n),
      duration: Number((s.end_ns > s.start_ns ? s.end_ns - s.start_ns : 0n) / 1000n),
      tags: [
        { key: 'span.kind', type: 'string', value: s.kind },
        ...spanAttributes(s).map(([key, v]) => (typeof v === 'number' ? { key, type: Number.isInteger(v) ? 'int64' : 'float64', value: v } : { key, type: 'string', value: v })),
      ],
      logs: [],
      processID: processOf(s),
      warnings: null,
    })),
    processes,
    warnings: null,
  };
}

/**
 * Jaeger UI's JSON ({"data": [trace...]}, as served by /api/traces and accepted by "JSON file" upload) of spans in
 * memory, in trace order. Large outputs are streamed by writeExports.ts with the same pieces.
 */
export function toJaeger(spans: readonly ExportSpan[]): unknown {
  const traces = new Map<string, ExportSpan[]>();
  for (const s of spans) (traces.get(s.trace_id) ?? traces.set(s.trace_id, []).get(s.trace_id)!).push(s);
  return { data: [...traces.entries()].map(([id, list]) => jaegerTrace(id, list)) };
}
