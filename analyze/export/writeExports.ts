import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { copyColumn, type ColumnChunk, type CopiedColumn } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { jaegerProcess } from './jaeger.js';
import { otlpResource } from './otlp.js';
import { jaegerSpanJson, otlpSpanJson } from './spanJson.js';
import { EXPORT_FIELDS, exportFieldItems, exportJsonItems, exportSimpleItem, SERVICE } from './spanJsonSql.js';
import type { ExportSpan } from './spanRows.js';

/**
 * Spans per export file. Up to this many spans an export is one file (OUT/otlp.json, OUT/jaeger.json); beyond it,
 * parts of at most this many spans (OUT/otlp/part-00001.json, ... each a complete ExportTraceServiceRequest;
 * OUT/jaeger/part-00001.json, ... each a complete {"data": [...]} of whole traces): files a viewer or collector
 * can take one at a time (docs/analysis-schema.md).
 */
export const SPANS_PER_FILE = 500_000;

/**
 * Spans per OTLP block: OTLP is written in trace order like Jaeger, a block of this many consecutive spans at a
 * time (counted from the first span of the part, so the layout does not depend on how the engine cuts its
 * chunks), one `resourceSpans` element per resource of the block in (service, node) order. OTLP allows a resource
 * in several elements; elements stay bounded (a collector takes one at a time) and no spool of the whole export is
 * needed to group it by resource (the spool was the OTLP text written and read back once more: 4.4 GB at 10 M).
 */
const OTLP_BLOCK_SPANS = 10_000;

/**
 * The export rows: every column of `spans`, then the span's edge to its parent and its OTLP resource, stored once in
 * trace order (trace_id, start_ns, span_id), the order of spans.parquet and of both JSON exports, which come from
 * one scan of it (OTLP grouped by resource within blocks of spans, OTLP_BLOCK_SPANS). Each
 * reader sorted and evaluated the `spans` view (five joins) on its own before: three sorts of every span for one.
 */
const EXPORT_ROWS = 'export_rows';
const TRACE_ORDER = 'trace_id, start_ns, span_id';
/** The columns export_rows adds to those of `spans` (left out of spans.parquet). */
const ADDED_COLUMNS = ['export_evidence', 'export_confidence', 'export_resource'];

/**
 * Stores export_rows (see EXPORT_ROWS) and returns the name to read it by. The resource is a hash of (service,
 * node) (and `salt`, if given): both exports tell resources (Jaeger processes) apart by it, a number per row
 * instead of the row's service and node text.
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
 * The export query: per row of `table` in trace order, `r` (its resource), the engine's JSON texts of the span
 * (exportJsonItems: `o`, `j`, `t`), then the fields they are built from (EXPORT_FIELDS), NULL unless the row is
 * not simple (`o` NULL: written from the fields by spanJson.ts). In scan order where the engine keeps it, else
 * sorted.
 */
function exportQuery(engine: Engine, table: string): string {
  const d = engine.dialect;
  const fields = `SELECT x.export_resource AS r, ${exportFieldItems(d).join(', ')}, ${TRACE_ORDER.split(', ').map((c) => `x.${c} AS k_${c}`).join(', ')} FROM ${table} x`;
  const items = ['r', ...exportJsonItems(d), ...EXPORT_FIELDS.map((f) => `CASE WHEN simple THEN NULL ELSE ${f} END AS ${f}`)];
  const orderBy = engine.scanOrder ? '' : ` ORDER BY ${TRACE_ORDER.split(', ').map((c) => `k_${c}`).join(', ')}`;
  return `SELECT ${items.join(', ')} FROM (SELECT *, ${exportSimpleItem(d)} FROM (${fields}) y) z${orderBy}`;
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
  readonly resource: BigUint64Array;
  readonly otlp: CopiedColumn;
  readonly jaeger: CopiedColumn;
  readonly trace: CopiedColumn;
  constructor(private readonly chunk: ColumnChunk) {
    this.rows = chunk.rowCount;
    this.resource = copyColumn(chunk, 0, 'UBIGINT').values as BigUint64Array;
    this.otlp = copyColumn(chunk, 1, 'BLOB');
    this.jaeger = copyColumn(chunk, 2, 'BLOB');
    this.trace = copyColumn(chunk, 3, 'BLOB');
  }
  /** True if row `i` has the engine's texts (else: spanAt). */
  simple(i: number): boolean {
    return !this.otlp.nulls?.[i];
  }
  spanAt(i: number): ExportSpan {
    return spanOfFields(this.chunk, i, 4);
  }
}

const COMMA = 0x2c;

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
  private buffer: Buffer;
  private used = 0;
  /** Buffers written and free again. */
  private readonly spare: Buffer[] = [];
  /** Writes in flight, oldest first; each starts when the one before it has ended (file order). */
  private readonly writes: Promise<void>[] = [];
  private last: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  constructor(
    file: string,
    prefix: string,
    private readonly suffix: string,
    private readonly bufferBytes = WRITE_BUFFER_BYTES,
  ) {
    this.fd = openSync(file, 'w');
    this.buffer = Buffer.allocUnsafe(bufferBytes);
    this.text(prefix);
  }
  begin(head: string): void {
    if (this.elements++ > 0) this.text(',');
    this.items = 0;
    this.text(head);
  }
  /** Starts an item of the element's array. */
  item(): void {
    // The comma as a byte: a string write per span was a native call each.
    if (this.items++ > 0) {
      if (this.used === this.bufferBytes) this.flush();
      this.buffer[this.used++] = COMMA;
    }
  }
  end(tail: string): void {
    this.text(tail);
  }
  /** Bytes [start, end) of `bytes`. */
  bytes(bytes: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.used + n > this.bufferBytes) {
      this.flush();
      if (n > this.bufferBytes) {
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
    if (this.used + text.length * 3 > this.bufferBytes) {
      this.flush();
      if (text.length * 3 > this.bufferBytes) {
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
    this.buffer = this.spare.pop() ?? Buffer.allocUnsafe(this.bufferBytes);
    this.used = 0;
  }
  private queue(bytes: Buffer, length: number, reuse: boolean): void {
    const done = this.last
      .then(async () => {
        if (this.failure) return;
        return writeAll(this.fd, bytes, length);
      })
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
}

/**
 * Writes OTLP/JSON and Jaeger JSON (and spans.parquet when asked) from `spans` and `edges`: the rows are stored
 * once in trace order (createExportRows), then streamed from the engine in column chunks: memory holds write
 * buffers and the chunks of one OTLP block (OTLP_BLOCK_SPANS), never the analysis (V8 strings stop at ~512 MB).
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
    return await writeJson(engine, rows, resources, out, spansPerFile);
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

/**
 * The OTLP file(s), written while the export rows are read in trace order: a block (OTLP_BLOCK_SPANS spans, none
 * across two parts) is gathered as references to its rows in the chunks that hold them, then written grouped by
 * resource (one `resourceSpans` element each, resources in (service, node) order, a resource's spans in trace
 * order). Memory: the chunks of one block.
 */
class OtlpWriter {
  /** The OTLP texts of the chunks the block's spans are in (not the chunks: their engine memory goes with them). */
  private chunks: CopiedColumn[] = [];
  /** Per span of the block: its chunk (index in `chunks`), its row there, its resource (index in `resources`). */
  private readonly chunkOf = new Int32Array(OTLP_BLOCK_SPANS);
  private readonly rowOf = new Int32Array(OTLP_BLOCK_SPANS);
  private readonly resourceOf = new Int32Array(OTLP_BLOCK_SPANS);
  /** Text of the block's spans that are not simple, by span. */
  private readonly texts = new Map<number, string>();
  private spans = 0;
  private readonly perResource: Int32Array;
  private readonly order = new Int32Array(OTLP_BLOCK_SPANS);
  private file: JsonWriter | null = null;
  private part = 1;
  private inPart = 0;
  constructor(
    private readonly resources: readonly Resource[],
    private readonly partFile: (n: number) => string,
    private readonly spansPerFile: number,
  ) {
    this.perResource = new Int32Array(resources.length + 1);
  }
  /** The rows added next are rows of the chunk with these OTLP texts. */
  chunk(otlp: CopiedColumn): void {
    this.chunks.push(otlp);
  }
  /** Adds row `row` of the last chunk, of resource index `resource`; `text` its OTLP text if it is not simple. True when the block is full (call `flush`). */
  add(row: number, resource: number, text: string | null): boolean {
    const i = this.spans++;
    this.chunkOf[i] = this.chunks.length - 1;
    this.rowOf[i] = row;
    this.resourceOf[i] = resource;
    if (text !== null) this.texts.set(i, text);
    return this.spans === OTLP_BLOCK_SPANS || this.inPart + this.spans === this.spansPerFile;
  }
  /** Writes the block; the chunk being read stays for the rows after it. */
  async flush(): Promise<void> {
    if (this.spans > 0) {
      this.file ??= new JsonWriter(this.partFile(this.part++), '{"resourceSpans":[', ']}');
      const file = this.file;
      // The block's spans by resource, each resource's in block order (a counting sort).
      const counts = this.perResource.fill(0);
      for (let i = 0; i < this.spans; i++) counts[this.resourceOf[i]! + 1]!++;
      for (let r = 1; r < counts.length; r++) counts[r]! += counts[r - 1]!;
      for (let i = 0; i < this.spans; i++) this.order[counts[this.resourceOf[i]!]!++] = i;
      let r = -1;
      for (let k = 0; k < this.spans; k++) {
        const i = this.order[k]!;
        if (this.resourceOf[i] !== r) {
          if (r >= 0) file.end(']}]}');
          r = this.resourceOf[i]!;
          file.begin(this.resources[r]!.otlpHead);
        }
        file.item();
        const text = this.texts.get(i);
        if (text !== undefined) file.text(text);
        else {
          const o = this.chunks[this.chunkOf[i]!]!;
          file.bytes(o.bytes!, o.offsets![this.rowOf[i]!]!, o.offsets![this.rowOf[i]! + 1]!);
        }
      }
      file.end(']}]}');
      this.inPart += this.spans;
      this.spans = 0;
      this.texts.clear();
      this.chunks = this.chunks.slice(-1);
    }
    if (this.inPart >= this.spansPerFile) {
      await this.file?.close();
      this.file = null;
      this.inPart = 0;
    }
  }
  async drain(): Promise<void> {
    await this.file?.drain();
  }
  async close(): Promise<void> {
    await this.flush();
    await (this.file ?? new JsonWriter(this.partFile(this.part++), '{"resourceSpans":[', ']}')).close();
  }
}

async function writeJson(
  engine: Engine,
  rows: string,
  resources: Resource[],
  out: string,
  spansPerFile: number,
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
  const otlpFile = new OtlpWriter(resources, parts ? (n) => partFile(files.otlp, n) : () => files.otlp, parts ? spansPerFile : Infinity);
  const resourceIndex = new Map(resources.map((r, i) => [r.number, i]));
  // Jaeger: whole traces in trace order, each written span by span (a trace never becomes one string).
  let part = 1;
  let inPart = 0;
  const openPart = (): JsonWriter => new JsonWriter(parts ? partFile(files.jaeger, part++) : files.jaeger, '{"data":[', ']}');
  let file: JsonWriter | null = null;
  /** The trace being written: its id as a JSON string. */
  let trace: Uint8Array | null = null;
  /** Its processes: resource -> process number (p1, p2, ... in order of first use). */
  const processes = new Map<bigint, number>();
  /** Each process number's span ending, `"pN","warnings":null}`, as bytes. */
  const tails: Buffer[] = [];
  const byNumber = new Map(resources.map((r) => [r.number, r]));
  const endTrace = (): void => {
    if (trace === null) return;
    const list = [...processes.keys()].map((r, i) => `"p${i + 1}":${byNumber.get(r)!.jaegerProcess}`);
    file!.end(`],"processes":{${list.join(',')}},"warnings":null}`);
    trace = null;
  };
  await engine.stream(
    exportQuery(engine, rows),
    async (chunk) => {
      const c = new ExportChunk(chunk);
      const { jaeger, trace: t } = c;
      otlpFile.chunk(c.otlp);
      for (let i = 0; i < c.rows; i++) {
        const simple = c.simple(i);
        const span = simple ? null : c.spanAt(i);
        const r = c.resource[i]!;
        // OTLP: into the block, written grouped by resource when it is full.
        if (otlpFile.add(i, resourceIndex.get(r)!, simple ? null : otlpSpanJson(span!))) await otlpFile.flush();
        // Jaeger.
        const id = simple ? t.bytes! : Buffer.from(JSON.stringify(span!.trace_id));
        const from = simple ? t.offsets![i]! : 0;
        const to = simple ? t.offsets![i + 1]! : id.length;
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
        let p = processes.get(r);
        if (p === undefined) processes.set(r, (p = processes.size + 1));
        file!.item();
        if (simple) {
          file!.bytes(jaeger.bytes!, jaeger.offsets![i]!, jaeger.offsets![i + 1]!);
          const tail = (tails[p] ??= Buffer.from(`"p${p}","warnings":null}`));
          file!.bytes(tail, 0, tail.length);
        } else {
          file!.text(jaegerSpanJson(span!.trace_id, span!, `p${p}`));
        }
        inPart++;
      }
      await file?.drain();
      await otlpFile.drain();
    },
    { scanOrder: true },
  );
  endTrace();
  await (file ?? openPart()).close();
  await otlpFile.close();
  return files;
}
