import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbEngine } from '../engine/duckdb.js';
import { writeExports } from './writeExports.js';

type Otlp = { resourceSpans: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string }[] }[] }[] };
type Jaeger = { data: { traceID: string; spans: { spanID: string; processID: string; references: { spanID: string }[] }[]; processes: Record<string, { serviceName: string }> }[] };

/** Three traces (1, 2 and 4 spans) over two services, as the final `spans` and `edges` tables hold them. */
async function engineWithSpans(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open();
  await e.exec(`CREATE TABLE spans (span_id VARCHAR, trace_id VARCHAR, parent_span_id VARCHAR, kind VARCHAR, node VARCHAR, pid INTEGER,
    tid INTEGER, service VARCHAR, protocol VARCHAR, method VARCHAR, path VARCHAR, status VARCHAR, start_ns BIGINT, end_ns BIGINT,
    local_addr VARCHAR, local_port INTEGER, remote_addr VARCHAR, remote_port INTEGER, request_ids VARCHAR[])`);
  await e.exec('CREATE TABLE edges (trace_id VARCHAR, parent_span_id VARCHAR, child_span_id VARCHAR, evidence VARCHAR, confidence DOUBLE)');
  const traces = [1, 2, 4];
  let n = 0;
  for (const [t, size] of traces.entries()) {
    const trace = String(t + 1).repeat(32);
    for (let i = 0; i < size; i++) {
      const id = (++n).toString(16).padStart(16, '0');
      const parent = i === 0 ? null : (n - 1).toString(16).padStart(16, '0');
      await e.exec(`INSERT INTO spans VALUES ('${id}', '${trace}', ${parent ? `'${parent}'` : 'NULL'}, '${i % 2 ? 'server' : 'client'}', 'n1', 10, 11,
        '${i % 2 ? 'web' : 'api'}', 'http', 'GET', '/x/"quoted"', '200', ${1000 * n}, ${1000 * n + 500}, '127.0.0.1', 80, '127.0.0.1', 5000, ['req-${t}'])`);
      if (parent) await e.exec(`INSERT INTO edges VALUES ('${trace}', '${parent}', '${id}', 'spatial', 1.0)`);
    }
  }
  return e;
}

test('exports: one file each below the part size, valid JSON holding every span once with its parent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-export-'));
  const e = await engineWithSpans();
  try {
    const files = await writeExports(e, dir);
    const otlp = JSON.parse(readFileSync(files.otlp, 'utf8')) as Otlp;
    const spans = otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    assert.equal(spans.length, 7);
    assert.equal(new Set(spans.map((s) => s.spanId)).size, 7);
    assert.equal(spans.filter((s) => s.parentSpanId).length, 4);
    assert.deepEqual([...new Set(otlp.resourceSpans.map((r) => r.resource.attributes[0]!.value.stringValue))].sort(), ['api', 'web']);
    const jaeger = JSON.parse(readFileSync(files.jaeger, 'utf8')) as Jaeger;
    assert.deepEqual(jaeger.data.map((t) => t.spans.length), [1, 2, 4]);
    for (const t of jaeger.data) for (const s of t.spans) assert.ok(t.processes[s.processID], 'every span names a process of its trace');
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exports: beyond the part size, folders of parts, each valid JSON; Jaeger parts hold whole traces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-export-'));
  const e = await engineWithSpans();
  try {
    const files = await writeExports(e, dir, 3);
    const otlpParts = readdirSync(files.otlp).sort().map((f) => JSON.parse(readFileSync(join(files.otlp, f), 'utf8')) as Otlp);
    const perPart = otlpParts.map((o) => o.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).length);
    assert.deepEqual(perPart, [3, 3, 1]);
    const jaegerParts = readdirSync(files.jaeger).sort().map((f) => JSON.parse(readFileSync(join(files.jaeger, f), 'utf8')) as Jaeger);
    const traceIds = jaegerParts.flatMap((j) => j.data.map((t) => t.traceID));
    assert.equal(traceIds.length, 3, 'each trace in exactly one part');
    assert.equal(new Set(traceIds).size, 3);
    assert.equal(jaegerParts.flatMap((j) => j.data.flatMap((t) => t.spans)).length, 7);
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
