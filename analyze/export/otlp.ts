import { spanAttributes, spanName, type ExportSpan } from './spanRows.js';

// OTLP span kinds (opentelemetry/proto/trace/v1/trace.proto), as integers in OTLP/JSON.
export const SPAN_KINDS: Record<string, number> = { server: 2, client: 3, producer: 4, consumer: 5 };
export const SPAN_KIND_INTERNAL = 1;
export const STATUS_CODE_ERROR = 2;

/** The resource of one (service, node): OTLP's `resource` object. */
export function otlpResource(service: string | null, node: string): unknown {
  return {
    attributes: [
      { key: 'service.name', value: { stringValue: service ?? 'unknown' } },
      { key: 'host.name', value: { stringValue: node } },
    ],
  };
}

/** One span in OTLP/JSON: ids as lowercase hex, 64-bit times as decimal strings, enums as integers. */
export function otlpSpan(s: ExportSpan): Record<string, unknown> {
  const span: Record<string, unknown> = {
    traceId: s.trace_id,
    spanId: s.span_id,
    name: spanName(s),
    kind: SPAN_KINDS[s.kind] ?? SPAN_KIND_INTERNAL,
    startTimeUnixNano: String(s.start_ns),
    endTimeUnixNano: String(s.end_ns < s.start_ns ? s.start_ns : s.end_ns),
    attributes: spanAttributes(s).map(([key, v]) => ({
      key,
      value: typeof v === 'number' ? (Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }) : { stringValue: v },
    })),
  };
  if (s.parent_span_id) span.parentSpanId = s.parent_span_id;
  if (s.protocol === 'http' && s.status && Number(s.status) >= (s.kind === 'server' ? 500 : 400)) {
    span.status = { code: STATUS_CODE_ERROR };
  }
  return span;
}

/**
 * OTLP/JSON (ExportTraceServiceRequest, https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) of spans
 * in memory; one resource per (service, node). Large outputs are streamed by writeExports.ts with the same pieces.
 */
export function toOtlp(spans: readonly ExportSpan[]): unknown {
  const byResource = new Map<string, ExportSpan[]>();
  for (const s of spans) {
    const k = `${s.service ?? 'unknown'}\u0000${s.node}`;
    (byResource.get(k) ?? byResource.set(k, []).get(k)!).push(s);
  }
  return {
    resourceSpans: [...byResource.values()].map((list) => ({
      resource: otlpResource(list[0]!.service, list[0]!.node),
      scopeSpans: [{ scope: { name: 'nitrace' }, spans: list.map(otlpSpan) }],
    })),
  };
}
