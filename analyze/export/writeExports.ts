import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ColumnChunk } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { JaegerProcesses } from './jaeger.js';
import { otlpResource } from './otlp.js';
import { jaegerSpanJson, otlpSpanJson } from './spanJson.js';
import type { ExportSpan } from './spanRows.js';

/**
 * Spans per export file. Up to this many spans an export is one file (OUT/otlp.json, OUT/jaeger.json); beyond it,
 * parts of at most this many spans (OUT/otlp/part-00001.json, ... each a complete ExportTraceServiceRequest;
 * OUT/jaeger/part-00001.json, ... each a complete {"data": [...]} of whole traces): files a viewer or collector
 * can take one at a time (docs/analysis-schema.md).
 */
export const SPANS_PER_FILE = 500_000;

/** Spans in one OTLP `resourceSpans` element: bounded so a collector can take one element at a time. */
const RESOURCE_SPANS_PER_ELEMENT = 10_000;

const SPAN_COLUMNS = `s.span_id, s.trace_id, s.parent_span_id, s.kind, s.node, s.pid, s.tid, s.service, s.protocol, s.method, s.path,
  s.status, s.start_ns, s.end_ns, s.local_addr, s.local_port, s.remote_addr, s.remote_port,
  array_to_string(s.request_ids, ',') AS request_ids, e.evidence, e.confidence`;

/**
 * The span's text fields as one string, PACK_SEPARATOR between them, in PACKED_FIELDS order: reading strings out of
 * the engine one at a time (a native call, a byte buffer and a decode each) took most of the export stage, so
 * a span is read as one string and split in JS. Columns that exporters only test for truth are packed as ''
 * when NULL, the service as 'unknown' (what the exports name a NULL service); a NULL in a column that is never
 * NULL makes the whole value NULL, and such a span is read column by column.
 */
const PACK_SEPARATOR = '\u001f';
const PACKED_FIELDS = [
  's.span_id',
  's.trace_id',
  's.kind',
  's.node',
  's.protocol',
  "coalesce(s.service, 'unknown')",
  "coalesce(s.parent_span_id, '')",
  "coalesce(s.method, '')",
  "coalesce(s.path, '')",
  "coalesce(s.status, '')",
  "coalesce(s.local_addr, '')",
  "coalesce(s.remote_addr, '')",
  "coalesce(array_to_string(s.request_ids, ','), '')",
  "coalesce(e.evidence, '')",
];
const PACKED = 21;

/** SPAN_COLUMNS and the packed text fields. */
function exportColumns(engine: Engine): string {
  return `${SPAN_COLUMNS}, ${PACKED_FIELDS.join(` || ${engine.dialect.string(PACK_SEPARATOR)} || `)} AS packed`;
}

/** The span at row `i` of a chunk of exportColumns. */
function exportSpanAt(c: ColumnChunk, i: number): ExportSpan {
  const packed = c.string(PACKED, i);
  const f = packed === null ? null : packed.split(PACK_SEPARATOR);
  // A separator inside a field makes more pieces than fields: then that span is read column by column.
  if (f === null || f.length !== PACKED_FIELDS.length) return exportSpanByColumns(c, i);
  const start = c.bigint(12, i)!;
  return {
    span_id: f[0]!,
    trace_id: f[1]!,
    kind: f[2] as ExportSpan['kind'],
    node: f[3]!,
    protocol: f[4]!,
    service: f[5]!,
    parent_span_id: f[6]!,
    method: f[7]!,
    path: f[8]!,
    status: f[9]!,
    local_addr: f[10]!,
    remote_addr: f[11]!,
    request_ids: f[12] ? f[12].split(',') : [],
    evidence: f[13]!,
    pid: c.number(5, i)!,
    tid: c.number(6, i)!,
    start_ns: start,
    end_ns: c.bigint(13, i) ?? start,
    local_port: c.number(15, i),
    remote_port: c.number(17, i),
    confidence: c.number(20, i),
  };
}

function exportSpanByColumns(c: ColumnChunk, i: number): ExportSpan {
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

/** Bytes gathered before one write: few system calls, no giant string built. */
const WRITE_BUFFER_BYTES = 4 << 20;

/**
 * A JSON file of the form PREFIX element,element,... SUFFIX, written through one reused byte buffer (joining the
 * pieces into one string per write cost more than encoding them one by one). An element is written in pieces:
 * `begin(head)`, then `item(piece)` for each of its inner array's items (commas added), then `end(tail)`.
 */
class JsonWriter {
  private readonly fd: number;
  private elements = 0;
  private items = 0;
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private used = 0;
  constructor(file: string, prefix: string, private readonly suffix: string) {
    this.fd = openSync(file, 'w');
    this.push(prefix);
  }
  begin(head: string): void {
    if (this.elements++ > 0) this.push(',');
    this.items = 0;
    this.push(head);
  }
  item(piece: string): void {
    if (this.items++ > 0) this.push(',');
    this.push(piece);
  }
  end(tail: string): void {
    this.push(tail);
  }
  close(): void {
    this.push(this.suffix);
    this.flush();
    closeSync(this.fd);
  }
  private push(text: string): void {
    // A UTF-16 unit is at most 3 UTF-8 bytes: a piece that might not fit goes after a flush, or alone if it is big.
    if (this.used + text.length * 3 > WRITE_BUFFER_BYTES) {
      this.flush();
      if (text.length * 3 > WRITE_BUFFER_BYTES) {
        writeSync(this.fd, text);
        return;
      }
    }
    this.used += this.buffer.write(text, this.used);
  }
  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buffer, off, this.used - off);
    this.used = 0;
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
export async function writeExports(engine: Engine, out: string, spansPerFile = SPANS_PER_FILE): Promise<ExportFiles> {
  const [k] = await engine.query<{ n: bigint }>('SELECT count(*) AS n FROM spans');
  const parts = Number(k?.n ?? 0n) > spansPerFile;
  const files: ExportFiles = parts ? { otlp: join(out, 'otlp'), jaeger: join(out, 'jaeger') } : { otlp: join(out, 'otlp.json'), jaeger: join(out, 'jaeger.json') };
  if (parts) {
    mkdirSync(files.otlp, { recursive: true });
    mkdirSync(files.jaeger, { recursive: true });
  }
  const partFile = (dir: string, n: number) => join(dir, `part-${String(n).padStart(5, '0')}.json`);

  // OTLP: spans grouped by resource (service, node), a resource's spans in trace order; one `resourceSpans`
  // element per resource and at most RESOURCE_SPANS_PER_ELEMENT spans.
  {
    let part = 1;
    let inPart = 0;
    let inElement = 0;
    let file: JsonWriter | null = null;
    let resource = '';
    const openPart = (): JsonWriter => new JsonWriter(parts ? partFile(files.otlp, part++) : files.otlp, '{"resourceSpans":[', ']}');
    const endElement = (): void => {
      if (file && inElement > 0) file.end(']}]}');
      inElement = 0;
    };
    await engine.stream(
      `SELECT ${exportColumns(engine)} FROM spans s LEFT JOIN edges e ON e.child_span_id = s.span_id
       ORDER BY coalesce(s.service, 'unknown'), s.node, s.trace_id, s.start_ns, s.span_id`,
      (c) => {
        for (let i = 0; i < c.rowCount; i++) {
          const s = exportSpanAt(c, i);
          const key = `${s.service ?? 'unknown'}\u0000${s.node}`;
          if (parts && inPart >= spansPerFile) {
            endElement();
            file?.close();
            file = null;
            inPart = 0;
          }
          if (key !== resource || inElement >= RESOURCE_SPANS_PER_ELEMENT) endElement();
          if (inElement === 0) {
            file ??= openPart();
            resource = key;
            file.begin(`{"resource":${JSON.stringify(otlpResource(s.service, s.node))},"scopeSpans":[{"scope":{"name":"nitrace"},"spans":[`);
          }
          file!.item(otlpSpanJson(s));
          inElement++;
          inPart++;
        }
      },
    );
    endElement();
    (file ?? openPart()).close();
  }

  // Jaeger: whole traces in trace order, each written span by span (a trace never becomes one string).
  {
    let part = 1;
    let inPart = 0;
    const openPart = (): JsonWriter => new JsonWriter(parts ? partFile(files.jaeger, part++) : files.jaeger, '{"data":[', ']}');
    let file: JsonWriter | null = null;
    let traceId: string | null = null;
    let processes = new JaegerProcesses();
    const endTrace = (): void => {
      if (traceId !== null) file!.end(`],"processes":${JSON.stringify(processes.byId)},"warnings":null}`);
      traceId = null;
    };
    await engine.stream(
      `SELECT ${exportColumns(engine)} FROM spans s LEFT JOIN edges e ON e.child_span_id = s.span_id ORDER BY s.trace_id, s.start_ns, s.span_id`,
      (c) => {
        for (let i = 0; i < c.rowCount; i++) {
          const s = exportSpanAt(c, i);
          if (s.trace_id !== traceId) {
            endTrace();
            // Parts hold whole traces: a new part starts only between traces.
            if (parts && inPart >= spansPerFile) {
              file?.close();
              file = null;
              inPart = 0;
            }
            file ??= openPart();
            traceId = s.trace_id;
            processes = new JaegerProcesses();
            file.begin(`{"traceID":${JSON.stringify(traceId)},"spans":[`);
          }
          file!.item(jaegerSpanJson(s.trace_id, s, processes.idOf(s)));
          inPart++;
        }
      },
    );
    endTrace();
    (file ?? openPart()).close();
  }
  return files;
}
