import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { copyColumn, type ColumnChunk, type CopiedColumn } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { jaegerProcess } from './jaeger.js';
import { otlpResource } from './otlp.js';
import { jaegerSpanJson, otlpSpanJson } from './spanJson.js';
import { EXPORT_FIELDS, exportFieldItems, exportJsonItems, exportSimpleItem, SERVICE, type ExportJsonFormat } from './spanJsonSql.js';
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
 * Stores export_rows (see EXPORT_ROWS) and returns the name to read it by. The resource is a hash of (service,
 * node) (and `salt`, if given): OTLP filters on it with a number, never with captured text in the SQL, and both
 * exports tell resources apart by it.
 */
async function createExportRows(engine: Engine, salt = 0): Promise<string> {
  const d = engine.dialect;
  return engine.createSortedScratchTable(
    EXPORT_ROWS,
    `SELECT x.*, e.evidence AS export_evidence, e.confidence AS export_confidence, ${d.hash(SERVICE, 'x.node', ...(salt ? [String(salt)] : []))} AS export_resource
     FROM spans x LEFT JOIN edges e ON e.child_span_id = x.span_id`,
    TRACE_ORDER,
  );
}

/**
 * An export query: per row of `table` matching `where`, `r` (its resource), the engine's JSON text of the span
 * (exportJsonItems: `j`, and for Jaeger `t`), then the fields it is built from (EXPORT_FIELDS), NULL unless the
 * row is not simple (j NULL: written from the fields by spanJson.ts). Rows in trace order within `orderFirst`
 * (expressions): in scan order where the engine keeps it, else sorted. Where the engine keeps the order of a
 * sorted subquery through projections (scanOrder), the rows are sorted before their text is built: the sort
 * holds the fields (~300 B a span), not the JSON (~1.2 KB a span for each format on the 1 M bench set).
 */
function exportQuery(engine: Engine, table: string, format: ExportJsonFormat, where = '', orderFirst: string[] = []): string {
  const d = engine.dialect;
  const sorted = orderFirst.length > 0 || !engine.scanOrder;
  // Trace order within orderFirst: the stored position where the table keeps it (no string keys compared).
  const position = engine.scanOrder ? d.scanPosition : null;
  const keys = sorted ? [...orderFirst, ...(position !== null ? [`x.${position}`] : TRACE_ORDER.split(', ').map((c) => `x.${c}`))] : [];
  const orderBy = sorted ? ` ORDER BY ${keys.map((_, i) => `k${i}`).join(', ')}` : '';
  const early = sorted && engine.scanOrder;
  const fields = `SELECT x.export_resource AS r, ${[...exportFieldItems(d), ...keys.map((k, i) => `${k} AS k${i}`)].join(', ')}
    FROM ${table} x${where ? ` WHERE ${where}` : ''}${early ? orderBy : ''}`;
  const items = ['r', ...exportJsonItems(d, format), ...EXPORT_FIELDS.map((f) => `CASE WHEN simple THEN NULL ELSE ${f} END AS ${f}`)];
  return `SELECT ${items.join(', ')} FROM (SELECT *, ${exportSimpleItem(d)} FROM (${fields}) y) z${early ? '' : orderBy}`;
}

/** Column of EXPORT_FIELDS[name] in a chunk of exportQuery whose fields start at column `first`. */
const FIELD = Object.fromEntries(EXPORT_FIELDS.map((f, i) => [f, i])) as Record<string, number>;

/** The span of a row that is not simple, from its fields (columns `first`... of a chunk of exportQuery). */
function spanOfFields(c: ColumnChunk, i: number, first: number): ExportSpan {
  const str = (f: string) => c.string(first + FIELD[f]!, i);
  const num = (f: string) => c.number(first + FIELD[f]!, i);
  const ids = str('request_ids');
  return {
    span_id: str('span_id')!,
    trace_id: str('trace_id')!,
    parent_span_id: str('parent'),
    kind: str('kind') as ExportSpan['kind'],
    node: str('node')!,
    service: str('service'),
    protocol: str('protocol')!,
    method: str('method'),
    path: str('path'),
    status: str('status'),
    local_addr: str('local_addr'),
    remote_addr: str('remote_addr'),
    request_ids: ids ? ids.split(',') : [],
    evidence: str('evidence'),
    pid: num('pid')!,
    tid: num('tid')!,
    start_ns: c.bigint(first + FIELD.start_ns!, i)!,
    end_ns: c.bigint(first + FIELD.end_ns!, i)!,
    local_port: num('local_port'),
    remote_port: num('remote_port'),
    confidence: num('confidence'),
  };
}

/** A chunk of exportQuery as JS reads it: resources as numbers, the JSON texts as bytes (no string per row). */
class ExportChunk {
  readonly rows: number;
  readonly resource: BigUint64Array | BigInt64Array;
  readonly json: CopiedColumn;
  readonly trace: CopiedColumn | null;
  /** Column of the first field. */
  private readonly first: number;
  constructor(
    private readonly chunk: ColumnChunk,
    format: ExportJsonFormat,
  ) {
    this.rows = chunk.rowCount;
    this.resource = copyColumn(chunk, 0, 'UBIGINT').values as BigUint64Array;
    this.json = copyColumn(chunk, 1, 'BLOB');
    this.trace = format === 'jaeger' ? copyColumn(chunk, 2, 'BLOB') : null;
    this.first = format === 'jaeger' ? 3 : 2;
  }
  /** True if row `i` has the engine's text (else: spanAt). */
  simple(i: number): boolean {
    return !this.json.nulls?.[i];
  }
  spanAt(i: number): ExportSpan {
    return spanOfFields(this.chunk, i, this.first);
  }
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
 * `begin(head)`, then for each of its inner array's items `item()` (the comma) and the item's `text` and `bytes`,
 * then `end(tail)`.
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
    this.text(prefix);
  }
  begin(head: string): void {
    if (this.elements++ > 0) this.text(',');
    this.items = 0;
    this.text(head);
  }
  /** Starts an item of the element's array. */
  item(): void {
    if (this.items++ > 0) this.text(',');
  }
  end(tail: string): void {
    this.text(tail);
  }
  /** Bytes [start, end) of `bytes`. */
  bytes(bytes: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.used + n > WRITE_BUFFER_BYTES) {
      this.flush();
      if (n > WRITE_BUFFER_BYTES) {
        this.queue(Buffer.from(bytes.subarray(start, end)), n, false);
        return;
      }
    }
    this.buffer.set(bytes.subarray(start, end), this.used);
    this.used += n;
  }
  /** Waits until at most `max` buffers are being written. */
  async drain(max = 1): Promise<void> {
    while (this.writes.length > max) await this.writes[0];
    if (this.failure) throw this.failure;
  }
  async close(): Promise<void> {
    try {
      this.text(this.suffix);
      this.flush();
      await this.drain(0);
    } finally {
      closeSync(this.fd);
    }
  }
  text(text: string): void {
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
  let rows = await createExportRows(engine);
  try {
    let resources = await exportResources(engine, rows);
    for (let salt = 1; resources === null; salt++) {
      await engine.exec(`DROP TABLE ${rows}`);
      rows = await createExportRows(engine, salt);
      resources = await exportResources(engine, rows);
    }
    if (opts.spansParquet !== undefined) {
      await engine.writeParquet(
        `SELECT ${engine.dialect.allColumnsExcept(ADDED_COLUMNS)} FROM ${rows}${engine.scanOrder ? '' : ` ORDER BY ${TRACE_ORDER}`}`,
        opts.spansParquet,
        { scanOrder: true },
      );
    }
    return await writeJson(engine, rows, resources, out, spansPerFile, opts.maxResourceScans ?? MAX_RESOURCE_SCANS, opts.sortedOtlpMaxSpans ?? SORTED_OTLP_MAX_SPANS);
  } finally {
    await engine.exec(`DROP TABLE ${rows}`);
  }
}

/** An OTLP resource (Jaeger process): a (service, node) of the spans, and the number export rows name it by. */
interface Resource {
  number: bigint;
  /** OTLP's `resourceSpans` element up to its spans. */
  otlpHead: string;
  /** Jaeger's process object. */
  jaegerProcess: string;
}

/**
 * The resources of export_rows in export order (service, node); null if two share a number (a hash collision:
 * never seen, the rows are made again with another hash).
 */
async function exportResources(engine: Engine, rows: string): Promise<Resource[] | null> {
  const list = await engine.query<{ r: bigint | number; service: string; node: string | null }>(
    `SELECT r, k AS service, n AS node FROM (SELECT DISTINCT x.export_resource AS r, ${SERVICE} AS k, x.node AS n FROM ${rows} x) d ORDER BY k, n`,
  );
  const resources = list.map(
    (x): Resource => ({
      number: BigInt(x.r),
      otlpHead: `{"resource":${JSON.stringify(otlpResource(x.service, x.node as string))},"scopeSpans":[{"scope":{"name":"nitrace"},"spans":[`,
      jaegerProcess: JSON.stringify(jaegerProcess(x.service, x.node as string)),
    }),
  );
  return new Set(resources.map((r) => r.number)).size === resources.length ? resources : null;
}

/** True if bytes [start, end) of `b` are `a`. */
function sameBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

async function writeJson(
  engine: Engine,
  rows: string,
  resources: Resource[],
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
  const byNumber = new Map(resources.map((r) => [r.number, r]));

  // OTLP: spans grouped by resource (service, node), a resource's spans in trace order; one `resourceSpans`
  // element per resource and at most RESOURCE_SPANS_PER_ELEMENT spans.
  {
    let part = 1;
    let inPart = 0;
    let inElement = 0;
    let file: JsonWriter | null = null;
    let resource: bigint | null = null;
    const openPart = (): JsonWriter => new JsonWriter(parts ? partFile(files.otlp, part++) : files.otlp, '{"resourceSpans":[', ']}');
    const endElement = (): void => {
      if (file && inElement > 0) file.end(']}]}');
      inElement = 0;
    };
    const onChunk = async (chunk: ColumnChunk): Promise<void> => {
      const c = new ExportChunk(chunk, 'otlp');
      const { bytes, offsets } = c.json;
      for (let i = 0; i < c.rows; i++) {
        const r = c.resource[i]!;
        if (parts && inPart >= spansPerFile) {
          endElement();
          await file?.close();
          file = null;
          inPart = 0;
        }
        if (r !== resource || inElement >= RESOURCE_SPANS_PER_ELEMENT) endElement();
        if (inElement === 0) {
          file ??= openPart();
          resource = r;
          file.begin(byNumber.get(r)!.otlpHead);
        }
        file!.item();
        if (c.simple(i)) file!.bytes(bytes!, offsets![i]!, offsets![i + 1]!);
        else file!.text(otlpSpanJson(c.spanAt(i)));
        inElement++;
        inPart++;
      }
      await file?.drain();
    };
    const sortedScan = counts.spans <= sortedOtlpMaxSpans && engine.scanOrder && engine.dialect.scanPosition !== null;
    if (sortedScan || resources.length > maxResourceScans) {
      await engine.stream(exportQuery(engine, rows, 'otlp', '', [SERVICE, 'x.node']), onChunk, { scanOrder: engine.scanOrder });
    } else {
      for (const r of resources) await engine.stream(exportQuery(engine, rows, 'otlp', `x.export_resource = ${r.number}`), onChunk, { scanOrder: true });
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
    /** The trace being written: its id as a JSON string. */
    let trace: Uint8Array | null = null;
    /** Its processes: resource -> process number (p1, p2, ... in order of first use). */
    const processes = new Map<bigint, number>();
    /** Each process number's span ending: `"pN","warnings":null}`. */
    const tails: string[] = [];
    const endTrace = (): void => {
      if (trace === null) return;
      const list = [...processes.keys()].map((r, i) => `"p${i + 1}":${byNumber.get(r)!.jaegerProcess}`);
      file!.end(`],"processes":{${list.join(',')}},"warnings":null}`);
      trace = null;
    };
    await engine.stream(
      exportQuery(engine, rows, 'jaeger'),
      async (chunk) => {
        const c = new ExportChunk(chunk, 'jaeger');
        const { bytes, offsets } = c.json;
        const t = c.trace!;
        for (let i = 0; i < c.rows; i++) {
          const simple = c.simple(i);
          const span = simple ? null : c.spanAt(i);
          const id = simple ? t.bytes! : Buffer.from(JSON.stringify(span!.trace_id));
          const [from, to] = simple ? [t.offsets![i]!, t.offsets![i + 1]!] : [0, id.length];
          if (trace === null || !sameBytes(trace, id, from, to)) {
            endTrace();
            // Parts hold whole traces: a new part starts only between traces.
            if (parts && inPart >= spansPerFile) {
              await file?.close();
              file = null;
              inPart = 0;
            }
            file ??= openPart();
            trace = id.slice(from, to);
            processes.clear();
            file.begin('{"traceID":');
            file.bytes(trace, 0, trace.length);
            file.text(',"spans":[');
          }
          const r = c.resource[i]!;
          let p = processes.get(r);
          if (p === undefined) processes.set(r, (p = processes.size + 1));
          file!.item();
          if (simple) {
            file!.bytes(bytes!, offsets![i]!, offsets![i + 1]!);
            file!.text((tails[p] ??= `"p${p}","warnings":null}`));
          } else {
            file!.text(jaegerSpanJson(span!.trace_id, span!, `p${p}`));
          }
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
