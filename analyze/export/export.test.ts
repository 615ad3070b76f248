import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JaegerProcesses, jaegerSpan, toJaeger } from './jaeger.js';
import { otlpSpan, toOtlp } from './otlp.js';
import { jaegerSpanJson, otlpSpanJson } from './spanJson.js';
import type { ExportSpan } from './spanRows.js';

const base: Omit<ExportSpan, 'span_id' | 'parent_span_id' | 'kind' | 'service'> = {
  trace_id: 'a'.repeat(32),
  node: 'n1',
  pid: 1,
  tid: 2,
  protocol: 'http',
  method: 'GET',
  path: '/x',
  status: '200',
  start_ns: 1_764_230_000_123_456_789n,
  end_ns: 1_764_230_000_124_456_789n,
  local_addr: '127.0.0.1',
  local_port: 80,
  remote_addr: '127.0.0.1',
  remote_port: 5000,
  request_ids: ['req-1'],
  evidence: null,
  confidence: null,
};
const spans: ExportSpan[] = [
  { ...base, span_id: '1'.repeat(16), parent_span_id: null, kind: 'client', service: 'driver' },
  { ...base, span_id: '2'.repeat(16), parent_span_id: '1'.repeat(16), kind: 'server', service: 'web', evidence: 'spatial', confidence: 1, status: '503' },
];

test('otlp: OTLP/JSON mapping (hex ids, integer kinds, string nanos, parents present)', () => {
  const o = toOtlp(spans) as { resourceSpans: { resource: { attributes: { key: string }[] }; scopeSpans: { scope: { name: string }; spans: Record<string, unknown>[] }[] }[] };
  assert.equal(o.resourceSpans.length, 2);
  const all = o.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  const ids = new Set(all.map((s) => s.spanId));
  for (const s of all) {
    assert.match(String(s.traceId), /^[0-9a-f]{32}$/);
    assert.match(String(s.spanId), /^[0-9a-f]{16}$/);
    assert.ok(s.kind === 2 || s.kind === 3);
    assert.match(String(s.startTimeUnixNano), /^\d+$/);
    assert.ok(BigInt(String(s.endTimeUnixNano)) >= BigInt(String(s.startTimeUnixNano)));
    if (s.parentSpanId !== undefined) assert.ok(ids.has(s.parentSpanId));
  }
  const server = all.find((s) => s.kind === 2)!;
  assert.deepEqual(server.status, { code: 2 });
  assert.equal(o.resourceSpans[0]!.resource.attributes[0]!.key, 'service.name');
  assert.equal(o.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'nitrace');
});

test('jaeger: one trace, CHILD_OF references, microsecond times, processes by service', () => {
  const j = toJaeger(spans) as { data: { traceID: string; spans: Record<string, unknown>[]; processes: Record<string, { serviceName: string }> }[] };
  assert.equal(j.data.length, 1);
  const t = j.data[0]!;
  assert.equal(t.spans.length, 2);
  assert.deepEqual(t.spans[1]!.references, [{ refType: 'CHILD_OF', traceID: t.traceID, spanID: '1'.repeat(16) }]);
  assert.equal(t.spans[0]!.startTime, 1_764_230_000_123_456);
  assert.equal(t.spans[0]!.duration, 1000);
  assert.deepEqual(Object.values(t.processes).map((p) => p.serviceName).sort(), ['driver', 'web']);
  for (const s of t.spans) assert.ok(String(s.processID) in t.processes);
});

test('span JSON: the streamed text is JSON.stringify of the object mappings, byte for byte, for awkward values', () => {
  const awkward: ExportSpan[] = [
    ...spans,
    { ...base, span_id: '3'.repeat(16), parent_span_id: null, kind: 'producer', service: null, protocol: 'amqp', method: 'basic.publish', path: null, status: null,
      local_addr: null, local_port: null, remote_addr: null, remote_port: null, request_ids: [], evidence: 'timing', confidence: 0.9975000000000001 },
    { ...base, span_id: '4'.repeat(16), parent_span_id: '3'.repeat(16), kind: 'consumer', service: 'ü "q" \\ \u0001\n\t/\u2028', method: '', path: '/a"b\\c\u001f',
      status: 'not-a-number', request_ids: ['a', 'b"'], evidence: 'content', confidence: 1e-7, end_ns: 1n },
    { ...base, span_id: '5'.repeat(16), parent_span_id: '4'.repeat(16), kind: 'server', service: 'x', method: null, path: null, status: '', protocol: 'mysql',
      local_port: 0, remote_port: 65535, confidence: 0 },
    { ...base, span_id: '6'.repeat(16), parent_span_id: null, kind: 'client', service: 'x', status: '404', start_ns: 5n, end_ns: 5n, confidence: 0.5 },
  ];
  for (const s of awkward) {
    assert.equal(otlpSpanJson(s), JSON.stringify(otlpSpan(s)));
    const processes = new JaegerProcesses();
    const expected = JSON.stringify(jaegerSpan(s.trace_id, s, processes));
    assert.equal(jaegerSpanJson(s.trace_id, s, processes.idOf(s)), expected);
  }
});
