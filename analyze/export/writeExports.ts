import { closeSync, mkdirSync, openSync, readSync, rmSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { nativeZstd, type NativeZstd } from '../../core/nativeZstd.js';
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

/** Spans in one OTLP `resourceSpans` element: bounded so a collector can take one element at a time. */
const RESOURCE_SPANS_PER_ELEMENT = 10_000;

/**
 * The export rows: every column of `spans`, then the span's edge to its parent and its OTLP resource, stored once in
 * trace order (trace_id, start_ns, span_id), the order of spans.parquet and of the Jaeger export; both JSON exports
 * come from one scan of it (OTLP through per-resource spools, which keep that order within a resource). Each
 * reader sorted and evaluated the `spans` view (five joins) on its own before: three sorts of every span for one.
 */
const EXPORT_ROWS = 'export_rows';
const TRACE_ORDER = 'trace_id, start_ns, span_id';
/** The columns export_rows adds to those of `spans` (left out of spans.parquet). */
const ADDED_COLUMNS = ['export_evidence', 'export_confidence', 'export_resource'];

/** Bytes a resource's OTLP spool gathers before one write (all resources' spools are open during the scan). */
const SPOOL_BUFFER_BYTES = 256 << 10;
/**
 * zstd level of spool frames. The spool is the OTLP text written once more and read back: at 10 M events 4.4 GB
 * more through the page cache, past the kernel's dirty limit, so the export waited for the disk; JSON text packs
 * ~10x at level 1.
 */
const SPOOL_ZSTD_LEVEL = 1;

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
  /** Bytes handed to writes so far. */
  private queued = 0;
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
    /** If given, each write is one zstd frame of the bytes queued (see SpoolReader); `position` counts them unpacked. */
    private readonly frames: NativeZstd | null = null,
  ) {
    this.fd = openSync(file, 'w');
    this.buffer = Buffer.allocUnsafe(bufferBytes);
    this.text(prefix);
  }
  /** Bytes written so far (the file's length once they are on disk). */
  get position(): number {
    return this.queued + this.used;
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
    this.queued += length;
    // A frame is compressed at once, on the thread pool beside the other spools' and the scan; written in order.
    const frame = this.frames ? packFrame(this.frames, bytes.subarray(0, length)) : null;
    frame?.catch(() => undefined); // its failure is reported by the write below
    const done = this.last
      .then(async () => {
        if (this.failure) return;
        if (frame === null) return writeAll(this.fd, bytes, length);
        const packed = await frame;
        return writeAll(this.fd, packed, packed.length);
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
  /** OTLP spools as zstd frames: true by default where the native zstd loads; false keeps them plain text. */
  packSpools?: boolean;
}

/**
 * Writes OTLP/JSON and Jaeger JSON (and spans.parquet when asked) from `spans` and `edges`: the rows are stored
 * once in trace order (createExportRows), then streamed from the engine in column chunks: memory holds write
 * buffers and one chunk's JSON bytes, never the analysis (V8 strings stop at ~512 MB). OTLP goes through spool
 * files in OUT (`.otlp-spool-N`, one per resource, removed when done; zstd frames where the native zstd loads, else
 * the text itself, so that disk holds the OTLP text twice meanwhile).
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
    const frames = opts.packSpools === false ? null : nativeZstd();
    if (opts.packSpools && frames === null) throw new Error('export: packSpools needs the native zstd (@mongodb-js/zstd), which does not load here');
    return await writeJson(engine, rows, resources, out, spansPerFile, frames);
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
 * One resource's OTLP spans while the export rows are read in trace order: their JSON texts, comma-separated, in
 * a spool file next to the output, and where each starts in it. The OTLP file is put together from the spools
 * afterwards (writeOtlp): one read of the rows feeds both exports, where OTLP's order (by resource) took a second
 * scan of its own, sorted or filtered once per resource.
 */
class Spool {
  readonly writer: JsonWriter;
  spans = 0;
  /** Byte offset of each span in the spool's text (span i ends where span i + 1 starts, less its comma). */
  starts = new Float64Array(1024);
  constructor(
    readonly file: string,
    /** zstd frames (SpoolReader) if the native zstd loads, else the text as it is. */
    readonly frames: NativeZstd | null,
  ) {
    this.writer = new JsonWriter(file, '', '', SPOOL_BUFFER_BYTES, frames);
  }
  /** Starts the next span (its comma), then its text goes to `writer`. */
  next(): void {
    this.writer.item();
    if (this.spans === this.starts.length) {
      const grown = new Float64Array(this.starts.length * 2);
      grown.set(this.starts);
      this.starts = grown;
    }
    this.starts[this.spans++] = this.writer.position;
  }
}

async function writeJson(
  engine: Engine,
  rows: string,
  resources: Resource[],
  out: string,
  spansPerFile: number,
  frames: NativeZstd | null,
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
  const spools = new Map(resources.map((r, i) => [r.number, new Spool(join(out, `.otlp-spool-${i}`), frames)]));
  try {
    // Jaeger: whole traces in trace order, each written span by span (a trace never becomes one string).
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
        const { otlp, jaeger, trace: t } = c;
        for (let i = 0; i < c.rows; i++) {
          const simple = c.simple(i);
          const span = simple ? null : c.spanAt(i);
          const r = c.resource[i]!;
          // OTLP: to the resource's spool.
          const spool = spools.get(r)!;
          spool.next();
          if (simple) spool.writer.bytes(otlp.bytes!, otlp.offsets![i]!, otlp.offsets![i + 1]!);
          else spool.writer.text(otlpSpanJson(span!));
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
            file!.text((tails[p] ??= `"p${p}","warnings":null}`));
          } else {
            file!.text(jaegerSpanJson(span!.trace_id, span!, `p${p}`));
          }
          inPart++;
        }
        await file?.drain();
        for (const s of spools.values()) await s.writer.drain();
      },
      { scanOrder: true },
    );
    endTrace();
    await (file ?? openPart()).close();
    for (const s of spools.values()) await s.writer.close();
    await writeOtlp(resources.map((r) => [r, spools.get(r.number)!]), parts ? (n) => partFile(files.otlp, n) : () => files.otlp, parts ? spansPerFile : Infinity);
  } finally {
    for (const s of spools.values()) rmSync(s.file, { force: true });
  }
  return files;
}

/** Bytes read from a spool at a time. */
const SPOOL_READ_BYTES = 1 << 20;

/**
 * The OTLP file(s) from the resources' spools: spans grouped by resource (service, node), a resource's spans in
 * trace order; one `resourceSpans` element per resource and at most RESOURCE_SPANS_PER_ELEMENT spans (and none
 * across two parts). An element's spans are one run of its spool's bytes.
 */
async function writeOtlp(spools: [Resource, Spool][], partFile: (n: number) => string, spansPerFile: number): Promise<void> {
  let part = 1;
  let inPart = 0;
  let file: JsonWriter | null = null;
  const openPart = (): JsonWriter => new JsonWriter(partFile(part++), '{"resourceSpans":[', ']}');
  for (const [resource, spool] of spools) {
    const length = spool.writer.position;
    const reader = new SpoolReader(spool.file, spool.frames);
    try {
      for (let first = 0; first < spool.spans; ) {
        if (inPart >= spansPerFile) {
          await file?.close();
          file = null;
          inPart = 0;
        }
        file ??= openPart();
        const n = Math.min(spool.spans - first, RESOURCE_SPANS_PER_ELEMENT, spansPerFile - inPart);
        const start = spool.starts[first]!;
        // The last span's end: the next span's start less its comma, or the spool's end.
        const end = first + n < spool.spans ? spool.starts[first + n]! - 1 : length;
        file.begin(resource.otlpHead);
        const into = file;
        await reader.copy(start, end, async (bytes, from, to) => {
          into.bytes(bytes, from, to);
          await into.drain();
        });
        file.end(']}]}');
        first += n;
        inPart += n;
      }
    } finally {
      reader.close();
    }
  }
  await (file ?? openPart()).close();
}

/** A spool frame: compressed length, text length (u32 LE each), then the zstd frame. */
const FRAME_HEADER_BYTES = 8;

async function packFrame(zstd: NativeZstd, text: Buffer): Promise<Buffer> {
  const packed = await zstd.compress(text, SPOOL_ZSTD_LEVEL);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + packed.length);
  frame.writeUInt32LE(packed.length, 0);
  frame.writeUInt32LE(text.length, 4);
  packed.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * The spool's text, read forward once: `copy(start, end)` hands bytes [start, end) of the text to `sink` (starts
 * never go back). Framed spools are unpacked a frame ahead of the one copied, on the thread pool.
 */
class SpoolReader {
  private readonly fd: number;
  /** Plain spool: read buffer. Framed: the next frame's file offset, the frame in hand and its text offset. */
  private readonly block = Buffer.allocUnsafe(SPOOL_READ_BYTES);
  private fileAt = 0;
  private text: Buffer | null = null;
  private textAt = 0;
  private next: Promise<Buffer | null> | null = null;
  constructor(
    private readonly file: string,
    private readonly frames: NativeZstd | null,
  ) {
    this.fd = openSync(file, 'r');
  }
  async copy(start: number, end: number, sink: (bytes: Buffer, from: number, to: number) => Promise<void>): Promise<void> {
    if (this.frames === null) {
      for (let at = start; at < end; ) {
        const got = readSync(this.fd, this.block, 0, Math.min(SPOOL_READ_BYTES, end - at), at);
        if (got <= 0) throw new Error(`export: ${this.file} ended at byte ${at} of ${end}`);
        await sink(this.block, 0, got);
        at += got;
      }
      return;
    }
    for (let at = start; at < end; ) {
      while (this.text === null || at >= this.textAt + this.text.length) {
        if (this.text !== null) this.textAt += this.text.length;
        this.text = await (this.next ?? this.unpackNext());
        this.next = this.unpackNext();
        if (this.text === null) throw new Error(`export: ${this.file} ended at byte ${at} of ${end}`);
      }
      const to = Math.min(end, this.textAt + this.text.length);
      await sink(this.text, at - this.textAt, to - this.textAt);
      at = to;
    }
  }
  close(): void {
    this.next?.catch(() => undefined);
    closeSync(this.fd);
  }
  /** The frame at fileAt, unpacked (null at the end of the file); moves fileAt past it. */
  private unpackNext(): Promise<Buffer | null> {
    const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    if (readSync(this.fd, head, 0, FRAME_HEADER_BYTES, this.fileAt) < FRAME_HEADER_BYTES) return Promise.resolve(null);
    const packed = Buffer.allocUnsafe(head.readUInt32LE(0));
    const textLength = head.readUInt32LE(4);
    if (readSync(this.fd, packed, 0, packed.length, this.fileAt + FRAME_HEADER_BYTES) < packed.length) {
      return Promise.reject(new Error(`export: ${this.file}: a frame ends before its ${packed.length} bytes`));
    }
    this.fileAt += FRAME_HEADER_BYTES + packed.length;
    return this.frames!.decompress(packed).then((text) => {
      if (text.length !== textLength) throw new Error(`export: ${this.file}: a frame unpacks to ${text.length} bytes, not ${textLength}`);
      return text;
    });
  }
}
