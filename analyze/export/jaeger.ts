import { spanAttributes, spanName, type ExportSpan } from './spanRows.js';

/** A Jaeger process: one (service, node). */
export function jaegerProcess(service: string | null, node: string): { serviceName: string; tags: unknown[] } {
  return { serviceName: service ?? 'unknown', tags: [{ key: 'hostname', type: 'string', value: node }] };
}

/** The processes of one Jaeger trace: one per (service, node), numbered in order of first use. */
export class JaegerProcesses {
  private readonly ids = new Map<string, string>();
  readonly byId: Record<string, { serviceName: string; tags: unknown[] }> = {};

  idOf(s: Pick<ExportSpan, 'service' | 'node'>): string {
    const k = `${s.service ?? 'unknown'}\u0000${s.node}`;
    let id = this.ids.get(k);
    if (!id) {
      id = `p${this.ids.size + 1}`;
      this.ids.set(k, id);
      this.byId[id] = jaegerProcess(s.service, s.node);
    }
    return id;
  }
}

/** One span in Jaeger UI's JSON: times in microseconds. */
export function jaegerSpan(traceID: string, s: ExportSpan, processes: JaegerProcesses): unknown {
  return {
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
    processID: processes.idOf(s),
    warnings: null,
  };
}

/** One trace in Jaeger UI's JSON, one process per (service, node) within the trace. */
export function jaegerTrace(traceID: string, list: readonly ExportSpan[]): unknown {
  const processes = new JaegerProcesses();
  const spans = list.map((s) => jaegerSpan(traceID, s, processes));
  return { traceID, spans, processes: processes.byId, warnings: null };
}

/**
 * Jaeger UI's JSON ({"data": [trace...]}, as served by /api/traces and accepted by "JSON file" upload) of spans in
 * memory, in trace order. Large outputs are streamed by writeExports.ts span by span with the same pieces.
 */
export function toJaeger(spans: readonly ExportSpan[]): unknown {
  const traces = new Map<string, ExportSpan[]>();
  for (const s of spans) (traces.get(s.trace_id) ?? traces.set(s.trace_id, []).get(s.trace_id)!).push(s);
  return { data: [...traces.entries()].map(([id, list]) => jaegerTrace(id, list)) };
}
