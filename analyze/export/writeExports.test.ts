import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbEngine } from '../engine/duckdb.js';
import { JaegerProcesses, jaegerSpan, toJaeger } from './jaeger.js';
import { otlpSpan, toOtlp } from './otlp.js';
import type { ExportSpan } from './spanRows.js';
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
    // The run summary's counts come from the exported rows: the same as counting `spans`.
    const [k] = await e.query<{ n: bigint; c: bigint; s: bigint }>(
      "SELECT count(*) AS n, count(*) FILTER (WHERE kind = 'client') AS c, count(*) FILTER (WHERE kind = 'server') AS s FROM spans",
    );
    assert.deepEqual([files.spans, files.clientSpans, files.serverSpans], [Number(k!.n), Number(k!.c), Number(k!.s)]);
    assert.deepEqual([files.spans, files.clientSpans, files.serverSpans], [7, 4, 3]);
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
    const files = await writeExports(e, dir, { spansPerFile: 3 });
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

test('exports: a span text bigger than the write buffer, with multi-byte characters, is written whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-export-'));
  const e = await engineWithSpans();
  const path = '/ü€'.repeat(700_000) + '"end"';
  try {
    await e.exec(`UPDATE spans SET path = '${path}' WHERE span_id = '${(2).toString(16).padStart(16, '0')}'`);
    const files = await writeExports(e, dir);
    const otlp = JSON.parse(readFileSync(files.otlp, 'utf8')) as Otlp;
    const spans = otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)) as unknown as { name: string }[];
    assert.equal(spans.length, 7);
    assert.ok(spans.some((s) => s.name === `GET ${path}`));
    const jaeger = JSON.parse(readFileSync(files.jaeger, 'utf8')) as { data: { spans: { operationName: string }[] }[] };
    assert.ok(jaeger.data.flatMap((t) => t.spans).some((s) => s.operationName === `GET ${path}`));
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exports: spans whose text holds the packing separator or NULLs come out as the object mappings say', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-export-'));
  const e = await engineWithSpans();
  try {
    // Span 2: a unit separator (what the export query packs text fields with) and a control character in the path;
    // span 3: no service, no end, no status.
    await e.exec(`UPDATE spans SET path = '/a' || chr(31) || 'b' || chr(1) || '"' WHERE span_id = '${(2).toString(16).padStart(16, '0')}'`);
    await e.exec(`UPDATE spans SET service = NULL, end_ns = NULL, status = NULL WHERE span_id = '${(3).toString(16).padStart(16, '0')}'`);
    // span 4: a NULL where a value is expected (the packed text skips it: one field short, read column by column).
    await e.exec(`UPDATE spans SET node = NULL WHERE span_id = '${(4).toString(16).padStart(16, '0')}'`);
    const files = await writeExports(e, dir);
    const otlp = JSON.parse(readFileSync(files.otlp, 'utf8')) as Otlp;
    const byId = new Map(otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).map((s) => [s.spanId, s]));
    const jaeger = JSON.parse(readFileSync(files.jaeger, 'utf8')) as Jaeger;
    const jaegerById = new Map(jaeger.data.flatMap((t) => t.spans).map((s) => [s.spanID, s]));
    const rows = await e.query<Record<string, unknown>>(
      `SELECT s.*, e.evidence, e.confidence FROM spans s LEFT JOIN edges e ON e.child_span_id = s.span_id ORDER BY s.trace_id, s.start_ns`,
    );
    assert.equal(rows.length, 7);
    for (const r of rows) {
      const s: ExportSpan = {
        ...(r as unknown as ExportSpan),
        end_ns: (r.end_ns ?? r.start_ns) as bigint,
        request_ids: r.request_ids as string[],
      };
      assert.deepEqual(byId.get(s.span_id), JSON.parse(JSON.stringify(otlpSpan(s))));
      const j = jaegerById.get(s.span_id) as unknown as Record<string, unknown>;
      const processes = new JaegerProcesses();
      assert.deepEqual({ ...j, processID: undefined }, { ...(JSON.parse(JSON.stringify(jaegerSpan(s.trace_id, s, processes))) as object), processID: undefined });
    }
    assert.ok([...byId.values()].some((s) => (s as unknown as { name: string }).name === 'GET /a\u001fb\u0001"'));
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exports: spans.parquet holds the spans in trace order; OTLP resources in (service, node) order; the same bytes again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-export-'));
  const e = await engineWithSpans();
  try {
    // Stored against trace order: the exports' order must come from their sort, not from the input's.
    await e.exec('CREATE TABLE spans_rev AS SELECT * FROM spans ORDER BY span_id DESC');
    await e.exec('DROP TABLE spans');
    await e.exec('ALTER TABLE spans_rev RENAME TO spans');
    // Span 4 without a service (resource 'unknown'), span 5 on another node: four resources.
    await e.exec(`UPDATE spans SET service = NULL WHERE span_id = '${(4).toString(16).padStart(16, '0')}'`);
    await e.exec(`UPDATE spans SET node = 'n0' WHERE span_id = '${(5).toString(16).padStart(16, '0')}'`);
    const spansParquet = join(dir, 'spans.parquet');
    const files = await writeExports(e, dir, { spansParquet });
    const written = await e.query(`SELECT * FROM read_parquet('${spansParquet}')`);
    assert.deepEqual(written, await e.query('SELECT * FROM spans ORDER BY trace_id, start_ns, span_id'));
    assert.equal(written.length, 7);
    const otlp = readFileSync(files.otlp, 'utf8');
    const jaeger = readFileSync(files.jaeger, 'utf8');
    const names = (JSON.parse(otlp) as Otlp).resourceSpans.map((r) => r.resource.attributes.map((a) => a.value.stringValue).join('@'));
    assert.deepEqual(names, ['api@n1', 'unknown@n1', 'web@n0', 'web@n1']);
    const again = join(dir, 'again');
    mkdirSync(again);
    const second = await writeExports(e, again);
    assert.equal(readFileSync(second.otlp, 'utf8'), otlp);
    assert.equal(readFileSync(second.jaeger, 'utf8'), jaeger);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no working file is left');
    assert.deepEqual(await e.query("SELECT table_name FROM duckdb_tables() WHERE table_name = 'export_rows'"), [], 'the working table is dropped');
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exports: the engine-written span JSON is the object mappings, byte for byte, for simple and awkward rows alike', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-export-'));
  const e = await engineWithSpans();
  const id = (n: number) => n.toString(16).padStart(16, '0');
  try {
    // Values at the edges of what the engine writes itself (simple rows) and of what it leaves to spanJson.ts.
    const updates = [
      `status = '007', confidence = NULL`, // not plain digits: written by spanJson.ts
      `status = 'abc', protocol = 'http', service = NULL`,
      `status = '500', kind = 'server', path = '/a\\b', end_ns = NULL`,
      `status = '499', kind = 'client', method = NULL, request_ids = []`,
      `status = '1000', kind = 'producer', protocol = 'amqp', path = NULL, method = 'basic.publish', local_port = NULL`,
      `status = '', kind = 'consumer', method = '', path = '', protocol = 'mysql', start_ns = 999, end_ns = 5`,
      `status = 'OK', protocol = 'grpc', path = 'x' || chr(9) || 'y', start_ns = 9007199254740993000, end_ns = 9007199254740993999`,
    ];
    for (const [i, u] of updates.entries()) {
      const [span, edge] = [u.replace(/, confidence = NULL/, ''), u.includes('confidence') ? 'confidence = NULL' : null];
      await e.exec(`UPDATE spans SET ${span} WHERE span_id = '${id(i + 1)}'`);
      if (edge) await e.exec(`UPDATE edges SET ${edge} WHERE child_span_id = '${id(i + 1)}'`);
    }
    for (const [i, c] of [0.9975000000000001, 1e-5, 0.0001, 123456.5, 1e15, 0].entries()) {
      await e.exec(`UPDATE edges SET confidence = ${c} WHERE child_span_id = '${id(i + 2)}'`);
    }
    const files = await writeExports(e, dir);
    const rows = await e.query<Record<string, unknown>>(
      `SELECT s.*, e.evidence, e.confidence FROM spans s LEFT JOIN edges e ON e.child_span_id = s.span_id ORDER BY s.trace_id, s.start_ns, s.span_id`,
    );
    const spans = rows.map((r): ExportSpan => ({ ...(r as unknown as ExportSpan), end_ns: (r.end_ns ?? r.start_ns) as bigint, request_ids: r.request_ids as string[] }));
    assert.equal(readFileSync(files.jaeger, 'utf8'), JSON.stringify(toJaeger(spans)));
    const byResource = [...spans].sort((a, b) => {
      const ka = `${a.service ?? 'unknown'}\u0000${a.node}`;
      const kb = `${b.service ?? 'unknown'}\u0000${b.node}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    assert.equal(readFileSync(files.otlp, 'utf8'), JSON.stringify(toOtlp(byResource)));
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exports: OTLP in trace order, blocks of 10 000 spans grouped by resource, parts on block bounds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-export-'));
  const e = await engineWithSpans();
  try {
    // 30 000 more spans over four resources (api, web on n0, n1) sorted before the first 7: four blocks, the last one of
    // those 7 spans (two resources), each with one element per resource it holds.
    await e.exec(`INSERT INTO spans SELECT printf('%016x', 1000 + i), printf('%032x', 100 + i // 7), NULL, 'server', 'n' || (i % 2), 10, 11,
      CASE WHEN i % 3 = 0 THEN 'web' ELSE 'api' END, 'http', 'GET', '/y/' || i, '200', 1000 * i, 1000 * i + 500, '127.0.0.1', 80,
      '127.0.0.1', 5000, ['req-' || i] FROM range(30000) t(i)`);
    const rows = await e.query<Record<string, unknown>>(
      `SELECT s.*, e.evidence, e.confidence FROM spans s LEFT JOIN edges e ON e.child_span_id = s.span_id ORDER BY s.trace_id, s.start_ns, s.span_id`,
    );
    const spans = rows.map((r): ExportSpan => ({ ...(r as unknown as ExportSpan), request_ids: r.request_ids as string[] }));
    const key = (s: ExportSpan) => `${s.service ?? 'unknown'}\u0000${s.node}`;
    /** The expected document of spans in trace order: per block, toOtlp of the block's spans sorted by resource. */
    const expected = (list: ExportSpan[]) => {
      const elements: unknown[] = [];
      for (let i = 0; i < list.length; i += 10_000) {
        const block = list.slice(i, i + 10_000).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
        elements.push(...(toOtlp(block) as { resourceSpans: unknown[] }).resourceSpans);
      }
      return JSON.stringify({ resourceSpans: elements });
    };
    mkdirSync(join(dir, 'one'));
    const one = await writeExports(e, join(dir, 'one'));
    const otlp = readFileSync(one.otlp, 'utf8');
    assert.equal(otlp, expected(spans));
    const doc = JSON.parse(otlp) as Otlp;
    assert.equal(doc.resourceSpans.length, 3 * 4 + 2);
    mkdirSync(join(dir, 'parts'));
    const parts = await writeExports(e, join(dir, 'parts'), { spansPerFile: 25_000 });
    const files = readdirSync(parts.otlp).sort();
    assert.deepEqual(files, ['part-00001.json', 'part-00002.json']);
    assert.equal(readFileSync(join(parts.otlp, files[0]!), 'utf8'), expected(spans.slice(0, 25_000)));
    assert.equal(readFileSync(join(parts.otlp, files[1]!), 'utf8'), expected(spans.slice(25_000)));
    assert.deepEqual(readdirSync(join(dir, 'one')).filter((f) => f.startsWith('.')), [], 'no working file is left');
  } finally {
    e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
