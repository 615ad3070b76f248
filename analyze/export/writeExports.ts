import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import { promisify } from 'node:util';
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

/**
 * The export rows: every column of `spans`, then the span's edge to its parent and its OTLP resource, stored once in
 * trace order (trace_id, start_ns, span_id), the order of spans.parquet and of the Jaeger export; OTLP reads it
 * one resource at a time, which keeps that order within a resource. Each reader sorted and evaluated the `spans`
 * view (five joins) on its own before: three sorts of every span for one.
 */
const EXPORT_ROWS = 'export_rows';
const TRACE_ORDER = 'trace_id, start_ns, span_id';
/** The columns export_rows adds to those of `spans` (left out of spans.parquet). */
const ADDED_COLUMNS = ['export_evidence', 'export_confidence', 'export_resource'];
/** The service as the exports name it (a NULL service is 'unknown'). */
const SERVICE = "coalesce(x.service, 'unknown')";

/**
 * OTLP reads export_rows with one filtered scan per resource up to this many resources (each scan reads the
 * resource column of every row: cheap next to sorting the rows again); beyond it, one scan sorted by resource.
 */
const MAX_RESOURCE_SCANS = 64;

/**
 * Up to this many spans, where the engine has a scan position (Dialect.scanPosition), OTLP reads export_rows in
 * one scan sorted by (service, node, position) instead of one filtered scan per resource: each filtered scan of
 * the 40-column rows cost about as much as a whole scan (DuckDB, parsed 1 M bench set, 381 k spans, 21 resources,
 * dev at load 14: 21 scans 3.4-3.8 s CPU, the sorted scan 1.5-1.9 s). The sort holds the rows' packed text
 * (~300 B a span, ~115 MB here): beyond this size it would take a large share of the engine's memory budget (the
 * 10 M set's 3.7 M spans: ~1.1 GB, more than the 2 GB run's engine half), so bigger exports keep the scans.
 */
const SORTED_OTLP_MAX_SPANS = 1_000_000;

/**
 * The span's text fields as one string, PACK_SEPARATOR between them, in PACKED_FIELDS order: reading strings out of
 * the engine one at a time (a native call, a byte buffer and a decode each) took most of the export stage, so
 * a span is read as one string and split in JS. Columns that exporters only test for truth are packed as ''
 * when NULL, the service as 'unknown' (what the exports name a NULL service). Built with one concat_ws: a chain of
 * `||` copies the text built so far at every step.
 */
const PACK_SEPARATOR = '\u001f';
const PACKED_FIELDS = [
  'x.span_id',
  'x.trace_id',
  'x.kind',
  'x.node',
  'x.protocol',
  SERVICE,
  "coalesce(x.parent_span_id, '')",
  "coalesce(x.method, '')",
  "coalesce(x.path, '')",
  "coalesce(x.status, '')",
  "coalesce(x.local_addr, '')",
  "coalesce(x.remote_addr, '')",
  "coalesce(array_to_string(x.request_ids, ','), '')",
  "coalesce(x.export_evidence, '')",
];

/** The numeric columns of an export row, read as they are (columns 0..6, the packed text is column 7). */
const NUMBER_COLUMNS = ['x.pid', 'x.tid', 'x.start_ns', 'x.end_ns', 'x.local_port', 'x.remote_port', 'x.export_confidence'];
const PACKED = NUMBER_COLUMNS.length;

/**
 * The text columns, for a span whose packed text cannot be split back (a field holds the separator, or a NULL
 * where a value is expected: concat_ws skips NULLs); NULL for every other span.
 */
const TEXT_COLUMNS = [
  'x.span_id',
  'x.trace_id',
  'x.parent_span_id',
  'x.kind',
  'x.node',
  'x.service',
  'x.protocol',
  'x.method',
  'x.path',
  'x.status',
  'x.local_addr',
  'x.remote_addr',
  "array_to_string(x.request_ids, ',')",
  'x.export_evidence',
];

/**
 * Stores export_rows (see EXPORT_ROWS) and returns the name to read it by. The resource is a hash of (service,
 * node): OTLP filters on it with a number, never with captured text in the SQL.
 */
async function createExportRows(engine: Engine): Promise<string> {
  const d = engine.dialect;
  return engine.createSortedScratchTable(
    EXPORT_ROWS,
    `SELECT x.*, e.evidence AS export_evidence, e.confidence AS export_confidence, ${d.hash(SERVICE, 'x.node')} AS export_resource
     FROM spans x LEFT JOIN edges e ON e.child_span_id = x.span_id`,
    TRACE_ORDER,
  );
}

/**
 * An export query: the rows of `table` (NUMBER_COLUMNS, packed, TEXT_COLUMNS) matching `where`, in trace order
 * within `orderFirst` (expressions): read in scan order where the engine keeps it, else sorted.
 */
function exportQuery(engine: Engine, table: string, where = '', orderFirst: string[] = []): string {
  const sep = engine.dialect.string(PACK_SEPARATOR);
  const inner = [
    ...NUMBER_COLUMNS.map((c, i) => `${c} AS n${i}`),
    ...TEXT_COLUMNS.map((c, i) => `${c} AS t${i}`),
    `concat_ws(${sep}, ${PACKED_FIELDS.join(', ')}) AS packed`,
  ];
  // Whole when it splits into every field: as many separators as fields but one.
  const whole = `(packed IS NOT NULL AND length(packed) - length(replace(packed, ${sep}, '')) = ${PACKED_FIELDS.length - 1})`;
  const outer = [
    ...NUMBER_COLUMNS.map((_, i) => `n${i}`),
    `CASE WHEN whole THEN packed END AS packed`,
    ...TEXT_COLUMNS.map((_, i) => `CASE WHEN whole THEN NULL ELSE t${i} END AS t${i}`),
  ];
  const sorted = orderFirst.length > 0 || !engine.scanOrder;
  // Trace order within orderFirst: the stored position where the table keeps it (no string keys compared).
  const position = engine.scanOrder ? engine.dialect.scanPosition : null;
  const keys = sorted ? [...orderFirst, ...(position !== null ? [`x.${position}`] : TRACE_ORDER.split(', ').map((c) => `x.${c}`))] : [];
  inner.push(...keys.map((k, i) => `${k} AS k${i}`));
  return `SELECT ${outer.join(', ')}
    FROM (SELECT *, ${whole} AS whole FROM (SELECT ${inner.join(', ')} FROM ${table} x${where ? ` WHERE ${where}` : ''}) y) z${
      sorted ? ` ORDER BY ${keys.map((_, i) => `k${i}`).join(', ')}` : ''
    }`;
}

/** The span at row `i` of a chunk of exportQuery. */
function exportSpanAt(c: ColumnChunk, i: number): ExportSpan {
  const packed = c.string(PACKED, i);
  if (packed === null) return exportSpanByColumns(c, i);
  const f = packed.split(PACK_SEPARATOR);
  const start = c.bigint(2, i)!;
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
    pid: c.number(0, i)!,
    tid: c.number(1, i)!,
    start_ns: start,
    end_ns: c.bigint(3, i) ?? start,
    local_port: c.number(4, i),
    remote_port: c.number(5, i),
    confidence: c.number(6, i),
  };
}

function exportSpanByColumns(c: ColumnChunk, i: number): ExportSpan {
  const t = PACKED + 1;
  const ids = c.string(t + 12, i);
  return {
    span_id: c.string(t, i)!,
    trace_id: c.string(t + 1, i)!,
    parent_span_id: c.string(t + 2, i),
    kind: c.string(t + 3, i) as ExportSpan['kind'],
    node: c.string(t + 4, i)!,
    service: c.string(t + 5, i),
    protocol: c.string(t + 6, i)!,
    method: c.string(t + 7, i),
    path: c.string(t + 8, i),
    status: c.string(t + 9, i),
    local_addr: c.string(t + 10, i),
    remote_addr: c.string(t + 11, i),
    request_ids: ids ? ids.split(',') : [],
    evidence: c.string(t + 13, i),
    pid: c.number(0, i)!,
    tid: c.number(1, i)!,
    start_ns: c.bigint(2, i)!,
    end_ns: c.bigint(3, i) ?? c.bigint(2, i)!,
    local_port: c.number(4, i),
    remote_port: c.number(5, i),
    confidence: c.number(6, i),
  };
}

/** Bytes gathered before one write: few system calls, no giant string built. */
const WRITE_BUFFER_BYTES = 4 << 20;

/** Writes `length` bytes of `buffer` at the file's position (a write may take fewer bytes than asked). */
async function writeAll(fd: number, buffer: Buffer, length: number): Promise<void> {
  let off = 0;
  while (off < length) off += (await writeAsync(fd, buffer, off, length - off, null)).bytesWritten;
}
const writeAsync = promisify(write);

/**
 * A JSON file of the form PREFIX element,element,... SUFFIX, written through reused byte buffers (joining the
 * pieces into one string per write cost more than encoding them one by one). An element is written in pieces:
 * `begin(head)`, then `item(piece)` for each of its inner array's items (commas added), then `end(tail)`.
 * A full buffer is written by libuv's thread pool while the next one fills: the system calls (page cache work,
 * a few seconds per GB here) run beside the JSON text building instead of after it. `drain()` between chunks
 * bounds the buffers in flight.
 */
class JsonWriter {
  private readonly fd: number;
  private elements = 0;
  private items = 0;
  private buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private used = 0;
  /** Buffers written and free again. */
  private readonly spare: Buffer[] = [];
  /** Writes in flight, oldest first; each starts when the one before it has ended (file order). */
  private readonly writes: Promise<void>[] = [];
  private last: Promise<void> = Promise.resolve();
  private failure: unknown = null;
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
  /** Waits until at most `max` buffers are being written. */
  async drain(max = 1): Promise<void> {
    while (this.writes.length > max) await this.writes[0];
    if (this.failure) throw this.failure;
  }
  async close(): Promise<void> {
    try {
      this.push(this.suffix);
      this.flush();
      await this.drain(0);
    } finally {
      closeSync(this.fd);
    }
  }
  private push(text: string): void {
    // A UTF-16 unit is at most 3 UTF-8 bytes: a piece that might not fit goes after a flush, or alone if it is big.
    if (this.used + text.length * 3 > WRITE_BUFFER_BYTES) {
      this.flush();
      if (text.length * 3 > WRITE_BUFFER_BYTES) {
        const bytes = Buffer.from(text);
        this.queue(bytes, bytes.length, false);
        return;
      }
    }
    this.used += this.buffer.write(text, this.used);
  }
  private flush(): void {
    if (this.used === 0) return;
    this.queue(this.buffer, this.used, true);
    this.buffer = this.spare.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
    this.used = 0;
  }
  private queue(bytes: Buffer, length: number, reuse: boolean): void {
    const done = this.last
      .then(() => (this.failure ? undefined : writeAll(this.fd, bytes, length)))
      .then(
        () => {
          if (reuse) this.spare.push(bytes);
        },
        (e: unknown) => {
          this.failure ??= e;
        },
      )
      .finally(() => {
        this.writes.splice(this.writes.indexOf(done), 1);
      });
    this.last = done;
    this.writes.push(done);
  }
}

/** Where the exports went: one file each, or a folder of parts. */
export interface ExportFiles {
  otlp: string;
  jaeger: string;
  /** Spans exported, and of them client and server spans (the run summary's counts, from the rows read here). */
  spans: number;
  clientSpans: number;
  serverSpans: number;
}

export interface ExportOptions {
  /** Spans per export file (SPANS_PER_FILE). */
  spansPerFile?: number;
  /** Also write spans.parquet (the columns of `spans`, in trace order) to this file, from the same rows. */
  spansParquet?: string;
  /** MAX_RESOURCE_SCANS (tests set 0 to read OTLP in one sorted scan). */
  maxResourceScans?: number;
  /** SORTED_OTLP_MAX_SPANS (tests set 0 to read OTLP with one filtered scan per resource). */
  sortedOtlpMaxSpans?: number;
}

/**
 * Writes OTLP/JSON and Jaeger JSON (and spans.parquet when asked) from `spans` and `edges`: the rows are stored
 * once in trace order (createExportRows), then streamed from the engine in column chunks: memory holds one
 * resource's pending JSON piece or one trace, never the analysis (V8 strings stop at ~512 MB).
 */
export async function writeExports(engine: Engine, out: string, opts: ExportOptions = {}): Promise<ExportFiles> {
  const spansPerFile = opts.spansPerFile ?? SPANS_PER_FILE;
  const rows = await createExportRows(engine);
  try {
    if (opts.spansParquet !== undefined) {
      await engine.writeParquet(
        `SELECT ${engine.dialect.allColumnsExcept(ADDED_COLUMNS)} FROM ${rows}${engine.scanOrder ? '' : ` ORDER BY ${TRACE_ORDER}`}`,
        opts.spansParquet,
        { scanOrder: true },
      );
    }
    return await writeJson(engine, rows, out, spansPerFile, opts.maxResourceScans ?? MAX_RESOURCE_SCANS, opts.sortedOtlpMaxSpans ?? SORTED_OTLP_MAX_SPANS);
  } finally {
    await engine.exec(`DROP TABLE ${rows}`);
  }
}

/**
 * The OTLP resources of export_rows in export order (service, node), each as the number its rows are filtered by;
 * null to read them in one sorted scan instead.
 */
async function exportResources(engine: Engine, rows: string, maxScans: number, sorted: boolean): Promise<bigint[] | null> {
  if (sorted) return null;
  const list = await engine.query<{ r: bigint }>(
    `SELECT r FROM (SELECT DISTINCT x.export_resource AS r, ${SERVICE} AS k, x.node AS n FROM ${rows} x) d ORDER BY k, n`,
  );
  const numbers = list.map((x) => BigInt(x.r as bigint | number));
  // Two resources with one hash (never seen) or many resources: one sorted scan instead.
  if (numbers.length > maxScans || new Set(numbers).size !== numbers.length) return null;
  return numbers;
}

async function writeJson(
  engine: Engine,
  rows: string,
  out: string,
  spansPerFile: number,
  maxResourceScans: number,
  sortedOtlpMaxSpans: number,
): Promise<ExportFiles> {
  // The stored rows are counted here for the run summary too: counting `spans` evaluated its five joins again.
  const [k] = await engine.query<{ n: bigint; c: bigint; s: bigint }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE kind = 'client') AS c, count(*) FILTER (WHERE kind = 'server') AS s FROM ${rows}`,
  );
  const counts = { spans: Number(k?.n ?? 0n), clientSpans: Number(k?.c ?? 0n), serverSpans: Number(k?.s ?? 0n) };
  const parts = counts.spans > spansPerFile;
  const files: ExportFiles = parts
    ? { otlp: join(out, 'otlp'), jaeger: join(out, 'jaeger'), ...counts }
    : { otlp: join(out, 'otlp.json'), jaeger: join(out, 'jaeger.json'), ...counts };
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
    const onChunk = async (c: ColumnChunk): Promise<void> => {
      for (let i = 0; i < c.rowCount; i++) {
        const s = exportSpanAt(c, i);
        const key = `${s.service ?? 'unknown'}\u0000${s.node}`;
        if (parts && inPart >= spansPerFile) {
          endElement();
          await file?.close();
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
      await file?.drain();
    };
    const sortedScan = counts.spans <= sortedOtlpMaxSpans && engine.scanOrder && engine.dialect.scanPosition !== null;
    const resources = await exportResources(engine, rows, maxResourceScans, sortedScan);
    if (resources === null) {
      await engine.stream(exportQuery(engine, rows, '', [SERVICE, 'x.node']), onChunk);
    } else {
      for (const r of resources) await engine.stream(exportQuery(engine, rows, `x.export_resource = ${r}`), onChunk, { scanOrder: true });
    }
    endElement();
    await (file ?? openPart()).close();
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
      exportQuery(engine, rows),
      async (c) => {
        for (let i = 0; i < c.rowCount; i++) {
          const s = exportSpanAt(c, i);
          if (s.trace_id !== traceId) {
            endTrace();
            // Parts hold whole traces: a new part starts only between traces.
            if (parts && inPart >= spansPerFile) {
              await file?.close();
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
        await file?.drain();
      },
      { scanOrder: true },
    );
    endTrace();
    await (file ?? openPart()).close();
  }
  return files;
}
