import { SPAN_KIND_INTERNAL, SPAN_KINDS, STATUS_CODE_ERROR } from './otlp.js';
import { spanName, type ExportSpan } from './spanRows.js';

/**
 * The streamed exports' span JSON, written as text: the same bytes as `JSON.stringify(otlpSpan(s))` and
 * `JSON.stringify(jaegerSpan(...))` (same keys in the same order, same number formatting; export.test.ts checks
 * both against the object mappings), without building and walking an object graph per span, which made most of
 * the export stage's time on a full Tempest analysis.
 */

const q = JSON.stringify as (s: string) => string;

/** A number as JSON.stringify writes it (NaN and infinities are null). */
const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/**
 * Calls `str` / `int` / `dbl` for each attribute of spanAttributes(s), in its order, with the key already quoted;
 * returns the pieces joined by commas. Kept in step with spanRows.ts spanAttributes (export.test.ts compares them).
 */
function attributesJson(
  s: ExportSpan,
  str: (key: string, v: string) => string,
  number: (key: string, v: number) => string,
): string {
  const http = s.protocol === 'http';
  let out = `${str('"nitrace.protocol"', s.protocol)},${str('"nitrace.node"', s.node)},${number('"process.pid"', s.pid)},${number('"thread.id"', s.tid)}`;
  if (s.method) out += ',' + str(http ? '"http.request.method"' : '"nitrace.method"', s.method);
  if (s.path) out += ',' + str(http ? '"url.path"' : '"nitrace.resource"', s.path);
  if (s.status) out += ',' + (http ? number('"http.response.status_code"', Number(s.status)) : str('"nitrace.status"', s.status));
  if (s.local_addr) out += ',' + str('"network.local.address"', s.local_addr);
  if (s.local_port !== null) out += ',' + number('"network.local.port"', s.local_port);
  if (s.remote_addr) out += ',' + str('"network.peer.address"', s.remote_addr);
  if (s.remote_port !== null) out += ',' + number('"network.peer.port"', s.remote_port);
  if (s.request_ids.length) out += ',' + str('"nitrace.request_ids"', s.request_ids.join(','));
  if (s.evidence) out += ',' + str('"nitrace.parent_evidence"', s.evidence);
  if (s.confidence !== null) out += ',' + number('"nitrace.parent_confidence"', s.confidence);
  return out;
}

const otlpString = (key: string, v: string): string => `{"key":${key},"value":{"stringValue":${q(v)}}}`;
const otlpNumber = (key: string, v: number): string =>
  Number.isInteger(v) ? `{"key":${key},"value":{"intValue":"${String(v)}"}}` : `{"key":${key},"value":{"doubleValue":${num(v)}}}`;

/** JSON.stringify(otlpSpan(s)). */
export function otlpSpanJson(s: ExportSpan): string {
  const end = s.end_ns < s.start_ns ? s.start_ns : s.end_ns;
  let out =
    `{"traceId":${q(s.trace_id)},"spanId":${q(s.span_id)},"name":${q(spanName(s))},"kind":${SPAN_KINDS[s.kind] ?? SPAN_KIND_INTERNAL},` +
    `"startTimeUnixNano":"${s.start_ns}","endTimeUnixNano":"${end}","attributes":[${attributesJson(s, otlpString, otlpNumber)}]`;
  if (s.parent_span_id) out += `,"parentSpanId":${q(s.parent_span_id)}`;
  if (s.protocol === 'http' && s.status && Number(s.status) >= (s.kind === 'server' ? 500 : 400)) out += `,"status":{"code":${STATUS_CODE_ERROR}}`;
  return out + '}';
}

const jaegerString = (key: string, v: string): string => `{"key":${key},"type":"string","value":${q(v)}}`;
const jaegerNumber = (key: string, v: number): string => `{"key":${key},"type":"${Number.isInteger(v) ? 'int64' : 'float64'}","value":${num(v)}}`;

/** JSON.stringify(jaegerSpan(traceID, s, processes)) for the span's process id `processID`. */
export function jaegerSpanJson(traceID: string, s: ExportSpan, processID: string): string {
  const trace = q(traceID);
  const references = s.parent_span_id ? `[{"refType":"CHILD_OF","traceID":${trace},"spanID":${q(s.parent_span_id)}}]` : '[]';
  const duration = Number((s.end_ns > s.start_ns ? s.end_ns - s.start_ns : 0n) / 1000n);
  return (
    `{"traceID":${trace},"spanID":${q(s.span_id)},"operationName":${q(spanName(s))},"references":${references},` +
    `"startTime":${num(Number(s.start_ns / 1000n))},"duration":${num(duration)},` +
    `"tags":[${jaegerString('"span.kind"', s.kind)},${attributesJson(s, jaegerString, jaegerNumber)}],"logs":[],"processID":${q(processID)},"warnings":null}`
  );
}
