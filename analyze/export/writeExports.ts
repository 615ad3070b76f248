import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ColumnChunk } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { jaegerTrace } from './jaeger.js';
import { otlpResource, otlpSpan } from './otlp.js';
import type { ExportSpan } from './spanRows.js';

/**
 * Spans per export file. Up to this many spans an export is one file (OUT/otlp.json, OUT/jaeger.json); beyond it,
 * parts of at most this many spans (OUT/otlp/part-00001.json, ... each a complete ExportTraceServiceRequest;
 * OUT/jaeger/part-00001.json, ... each a complete {"data": [...]} of whole traces): files a viewer or collector
 * can take one at a time (docs/analysis-schema.md).
 */
export const SPANS_PER_FILE = 500_000;

const SPAN_COLUMNS = `s.span_id, s.trace_id, s.parent_span_id, s.kind, s.node, s.pid, s.tid, s.service, s.protocol, s.method, s.path,
  s.status, s.start_ns, s.end_ns, s.local_addr, s.local_port, s.remote_addr, s.remote_port,
  array_to_string(s.request_ids, ',') AS request_ids, e.evidence, e.confidence`;

function exportSpanAt(c: ColumnChunk, i: number): ExportSpan {
  const ids = c.string(18, i);
  return {
    span_id: c.string(0, i)!,
    trace_id: c.string(1, i)!,
    parent_span_id: c.string(2, i),
    kind: c.string(3, i) as ExportSpan['kind'],
    node: c.string(4, i)!,
    pid: c.number(5, i)!,
    tid: c.number(6, i)!,
    service: c.string(7, i),
    protocol: c.string(8, i)!,
    method: c.string(9, i),
    path: c.string(10, i),
    status: c.string(11, i),
    start_ns: c.bigint(12, i)!,
    end_ns: c.bigint(13, i) ?? c.bigint(12, i)!,
    local_addr: c.string(14, i),
    local_port: c.number(15, i),
    remote_addr: c.string(16, i),
    remote_port: c.number(17, i),
    request_ids: ids ? ids.split(',') : [],
    evidence: c.string(19, i),
    confidence: c.number(20, i),
  };
}

/** A JSON file written piece by piece, opened and closed around a fixed prefix and suffix. */
class JsonWriter {
  private fd: number;
  private written = 0;
  constructor(file: string, prefix: string, private readonly suffix: string) {
    this.fd = openSync(file, 'w');
    writeSync(this.fd, prefix);
  }
  write(piece: string): void {
    writeSync(this.fd, (this.written++ > 0 ? ',' : '') + piece);
  }
  close(): void {
    writeSync(this.fd, this.suffix);
    closeSync(this.fd);
  }
}

/** Where the exports went: one file each, or a folder of parts. */
export interface ExportFiles {
  otlp: string;
  jaeger: string;
}

/**
 * Writes OTLP/JSON and Jaeger JSON from `spans` and `edges`, streamed from the engine in column chunks: memory holds
 * one resource's pending JSON piece or one trace, never the analysis (V8 strings stop at ~512 MB).
 */
export async function writeExports(engine: Engine, out: string): Promise<ExportFiles> {
  const [k] = await engine.query<{ n: bigint }>('SELECT count(*) AS n FROM spans');
  const parts = Number(k?.n ?? 0n) > SPANS_PER_FILE;
  const files: ExportFiles = parts ? { otlp: join(out, 'otlp'), jaeger: join(out, 'jaeger') } : { otlp: join(out, 'otlp.json'), jaeger: join(out, 'jaeger.json') };
  if (parts) {
    mkdirSync(files.otlp, { recursive: true });
    mkdirSync(files.jaeger, { recursive: true });
  }
  const partFile = (dir: string, n: number) => join(dir, `part-${String(n).padStart(5, '0')}.json`);

  // OTLP: spans grouped by resource (service, node), a resource's spans in trace order.
  {
    let part = 1;
    let inPart = 0;
    let file: JsonWriter | null = null;
    let resource = '';
    const openPart = (): JsonWriter => new JsonWriter(parts ? partFile(files.otlp, part++) : files.otlp, '{"resourceSpans":[', ']}');
    // A resource's spans are gathered into one `resourceSpans` element; written when the resource changes.
    let pending: string[] = [];
    let pendingResource: string | null = null;
    const flushResource = (): void => {
      if (pendingResource === null || pending.length === 0) return;
      file ??= openPart();
      file.write(`{"resource":${pendingResource},"scopeSpans":[{"scope":{"name":"nitrace"},"spans":[${pending.join(',')}]}]}`);
      pending = [];
    };
    await engine.stream(
      `SELECT ${SPAN_COLUMNS} FROM spans s LEFT JOIN edges e ON e.child_span_id = s.span_id
       ORDER BY coalesce(s.service, 'unknown'), s.node, s.trace_id, s.start_ns, s.span_id`,
      (c) => {
        for (let i = 0; i < c.rowCount; i++) {
          const s = exportSpanAt(c, i);
          const key = `${s.service ?? 'unknown'}\u0000${s.node}`;
          if (key !== resource || pending.length >= 10_000) {
            flushResource();
            resource = key;
            pendingResource = JSON.stringify(otlpResource(s.service, s.node));
          }
          if (parts && inPart >= SPANS_PER_FILE) {
            flushResource();
            file?.close();
            file = null;
            inPart = 0;
          }
          pending.push(JSON.stringify(otlpSpan(s)));
          inPart++;
        }
      },
    );
    flushResource();
    (file ?? openPart()).close();
  }

  // Jaeger: whole traces, in trace order.
  {
    let part = 1;
    let inPart = 0;
    const openPart = (): JsonWriter => new JsonWriter(parts ? partFile(files.jaeger, part++) : files.jaeger, '{"data":[', ']}');
    let file: JsonWriter | null = null;
    let trace: ExportSpan[] = [];
    const flushTrace = (): void => {
      if (trace.length === 0) return;
      if (parts && inPart + trace.length > SPANS_PER_FILE && inPart > 0) {
        file?.close();
        file = null;
        inPart = 0;
      }
      file ??= openPart();
      file.write(JSON.stringify(jaegerTrace(trace[0]!.trace_id, trace)));
      inPart += trace.length;
      trace = [];
    };
    await engine.stream(
      `SELECT ${SPAN_COLUMNS} FROM spans s LEFT JOIN edges e ON e.child_span_id = s.span_id ORDER BY s.trace_id, s.start_ns, s.span_id`,
      (c) => {
        for (let i = 0; i < c.rowCount; i++) {
          const s = exportSpanAt(c, i);
          if (trace.length > 0 && trace[0]!.trace_id !== s.trace_id) flushTrace();
          trace.push(s);
        }
      },
    );
    flushTrace();
    (file ?? openPart()).close();
  }
  return files;
}
