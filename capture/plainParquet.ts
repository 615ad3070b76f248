/**
 * A minimal Parquet writer for the capture's hot path: PLAIN encoding, REQUIRED or OPTIONAL flat columns, pages
 * uncompressed or compressed by a codec the caller passes (capture/segmentCodec.ts: zstd). Column bytes are built
 * by the caller already PLAIN-encoded (little-endian integers, u32-length-prefixed byte arrays), so writing costs
 * little more than the codec and the disk write.
 *
 * Why not a library: measured here on 300 k events x 18 columns, DuckDB's appender took 12 us/row and a TSV
 * round-trip 7 us/row; pure-JS Parquet writers are slower still (docs/capture.md); DuckDB's re-encoding of an
 * uncompressed spool (what the capture did until session 5) ~4.4 us/event. It writes the capture's events segments
 * (capture/eventColumns.ts), the sketch drains and the uncompressed spools an older capture may leave for
 * capture-recover's tests.
 * Format: https://parquet.apache.org/docs/file-format/ (thrift definitions in parquet.thrift).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ScratchMemory } from './scratchMemory.js';
import { encodeStruct, i32, i64, str, struct, list, T, type ThriftStruct } from './thriftCompact.js';

/** Parquet physical types used here (parquet.thrift `Type`). */
export const PHYSICAL = { BOOLEAN: 0, INT32: 1, INT64: 2, BYTE_ARRAY: 6 } as const;
/** Parquet converted types used here (parquet.thrift `ConvertedType`), as DuckDB writes them for its types. */
export const CONVERTED = { UTF8: 0, UINT_64: 14, INT_32: 17, INT_64: 18 } as const;
const REQUIRED = 0;
const OPTIONAL = 1;
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const ENCODING_RLE_DICTIONARY = 8;
const PAGE_DICTIONARY = 2;
/** Bits per dictionary index: 8, so that an index is a byte (a dictionary holds at most 256 values). */
const DICTIONARY_INDEX_BITS = 8;
const CODEC_UNCOMPRESSED = 0;
const PAGE_DATA = 0;
const MAGIC = Buffer.from('PAR1');
/**
 * Rows per row group (default). DuckDB reads a column chunk whole into memory it allocates for the read: with one
 * row group per 64 MiB spool that was ~45 MB of fresh memory per conversion (its pages fault on first touch: ~30 %
 * of the conversion's page faults, by perf), which small chunks reuse.
 */
export const ROW_GROUP_ROWS = 16384;

export interface PlainColumn {
  name: string;
  type: (typeof PHYSICAL)[keyof typeof PHYSICAL];
  /** BYTE_ARRAY holding text (read back as VARCHAR). Same as converted: CONVERTED.UTF8. */
  utf8?: boolean;
  /** The column's converted type (CONVERTED), if any. */
  converted?: number;
  /**
   * PLAIN-encoded values of the rows that have one (all rows unless `present`). BOOLEAN: one byte (0/1) per
   * value, bit-packed here.
   */
  data: Uint8Array;
  /**
   * BYTE_ARRAY: each value's length (without its u32 prefix), value by value, when the caller has them: page
   * boundaries are then found without walking `data` (a cache miss per value for long values).
   */
  lengths?: Uint32Array;
  /**
   * BYTE_ARRAY with a value in every row and `lengths`: `data` holds the values in another order (a segment's rows as
   * they arrived). Rows run[2k] .. run[2k+2] (exclusive; run[2 * count] is the row count) are source rows
   * run[2k+1] .., and source row s's value (u32 length + bytes) is data[at[s], at[s + 1]). Each page copies its
   * values from there: no sorted copy of the whole column (the payloads: ~40 MB a segment).
   */
  source?: { at: Uint32Array; run: Uint32Array; count: number };
  /**
   * A dictionary-encoded column (RLE_DICTIONARY, as DuckDB writes low-cardinality text): `values` the dictionary's
   * PLAIN-encoded values (at most 256), `size` how many; `data` is then one byte per value, its dictionary index.
   * For columns of a few distinct values per row (event names, the node): a byte per row to write and compress,
   * not the text.
   */
  dictionary?: { values: Uint8Array; size: number };
  /** An OPTIONAL column: one byte per row, 0 = NULL (no value in `data`), else a value. */
  present?: Uint8Array;
  /** OPTIONAL even without `present` (every row has a value): the schema DuckDB gives every column it writes. */
  optional?: boolean;
  /**
   * Min/max of each column chunk in the footer (signed INT32/INT64 only), as DuckDB writes them: readers skip row
   * groups by them (a time range over ts_ns or mono_ns) without reading the pages.
   */
  statistics?: boolean;
}

/** A page compression: its parquet.thrift `CompressionCodec` id and its function (sync, or async off the main thread). */
export interface PageCodec {
  id: number;
  /** The compressed page, a copy: `page`'s memory is reused once the result (or its promise) is in. */
  compress: (page: Uint8Array) => Uint8Array | Promise<Uint8Array>;
}

/**
 * A page compressed by `codec`. A synchronous codec's page is ~1 ms of CPU: the capture reads its pipe between pages
 * (setImmediate); an asynchronous one compresses on another thread while it does.
 */
async function compressPage(codec: PageCodec, page: Uint8Array): Promise<Uint8Array> {
  const out = codec.compress(page);
  if (out instanceof Uint8Array) await new Promise((r) => setImmediate(r));
  return out;
}

export interface ParquetWriteOptions {
  /** `path` is an existing file written over in place, then cut to the new length (see SegmentWriter). */
  overwrite?: boolean;
  /** Rows per row group (ROW_GROUP_ROWS) and per data page (the row group's rows). */
  rowGroupRows?: number;
  pageRows?: number;
  /** Page compression (none: uncompressed). */
  codec?: PageCodec;
  createdBy?: string;
  /** Memory reused from file to file for the pages' uncompressed bodies (with a codec). */
  scratch?: ScratchMemory;
  /** Every byte of the file, in order, as it is written (e.g. a sha256 for the manifest). */
  onBytes?: (b: Uint8Array) => void;
}

/** Bytes each value takes in `data` (BYTE_ARRAY: variable, 0). */
function valueWidth(col: PlainColumn): number {
  if (col.dictionary) return 1;
  return col.type === PHYSICAL.INT64 ? 8 : col.type === PHYSICAL.INT32 ? 4 : col.type === PHYSICAL.BOOLEAN ? 1 : 0;
}

/**
 * Where each page of a column starts: page p holds rows [p * pageRows, ...) and its values are
 * `data[byteStarts[p], byteStarts[p + 1])`. The column's fields come as arguments: column objects have many shapes
 * (optional fields), and reading them here made V8 throw this function's compiled code away again and again ("wrong
 * map", --trace-deopt), once per segment.
 */
function pageByteStarts(width: number, data: Uint8Array, lengths: Uint32Array | undefined, present: Uint8Array | undefined, numRows: number, pageRows: number, pages: number, counted: Map<Uint8Array, number[]>): number[] {
  const starts = [0];
  const d = new Uint8Array(data.buffer, data.byteOffset, data.length); // a plain view: one element-access shape
  const perPage = present ? presentPerPage(present, numRows, pageRows, pages, counted) : null;
  let off = 0;
  let value = 0;
  for (let p = 0; p < pages; p++) {
    const r0 = p * pageRows;
    const r1 = Math.min(numRows, r0 + pageRows);
    const values = perPage ? perPage[p]! : r1 - r0;
    if (width) off += values * width;
    else if (lengths) for (let v = 0; v < values; v++) off += 4 + lengths[value + v]!;
    else for (let v = 0; v < values; v++) off += 4 + (d[off]! | (d[off + 1]! << 8) | (d[off + 2]! << 16) | (d[off + 3]! << 24)) >>> 0;
    value += values;
    starts.push(off);
  }
  return starts;
}

/** Values per page of the rows with `present[r]`, counted once per presence array (columns share them: the tuple's six). */
function presentPerPage(present: Uint8Array, numRows: number, pageRows: number, pages: number, counted: Map<Uint8Array, number[]>): number[] {
  const known = counted.get(present);
  if (known) return known;
  const perPage: number[] = [];
  for (let p = 0; p < pages; p++) {
    const r1 = Math.min(numRows, (p + 1) * pageRows);
    let values = 0;
    for (let r = p * pageRows; r < r1; r++) if (present[r] !== 0) values++;
    perPage.push(values);
  }
  counted.set(present, perPage);
  return perPage;
}

/** Definition levels of rows [r0, r1) of an OPTIONAL column: u32 length, then one bit-packed run (RLE hybrid, width 1). */
function definitionLevels(present: Uint8Array | undefined, r0: number, r1: number): Uint8Array {
  const groups = Math.ceil((r1 - r0) / 8);
  const header: number[] = [];
  for (let v = (groups << 1) | 1; ; v >>>= 7) {
    if (v < 0x80) {
      header.push(v);
      break;
    }
    header.push((v & 0x7f) | 0x80);
  }
  const out = new Uint8Array(4 + header.length + groups);
  const len = header.length + groups;
  out[0] = len & 0xff;
  out[1] = (len >>> 8) & 0xff;
  out[2] = (len >>> 16) & 0xff;
  out[3] = len >>> 24;
  out.set(header, 4);
  const at = 4 + header.length;
  if (!present) {
    out.fill(0xff, at); // trailing bits past r1 are padding, ignored by readers
    return out;
  }
  for (let r = r0; r < r1; r++) if (present[r] !== 0) out[at + ((r - r0) >>> 3)]! |= 1 << ((r - r0) & 7);
  return out;
}

/** definitionLevels of page `p`, made once per presence array (columns share them) and page; only read after. */
function pageLevels(present: Uint8Array | undefined, r0: number, r1: number, p: number, levelsOf: Map<Uint8Array, Uint8Array[]>): Uint8Array {
  if (!present) return definitionLevels(undefined, r0, r1);
  let pages = levelsOf.get(present);
  if (!pages) levelsOf.set(present, (pages = []));
  return (pages[p] ??= definitionLevels(present, r0, r1));
}

/**
 * parquet.thrift `Statistics` of one column chunk: the smallest and largest of the PLAIN values `data` (signed,
 * little-endian, `width` 4 or 8 bytes each), in both the deprecated min/max fields and min_value/max_value (as
 * DuckDB writes them), and the NULL count. No values: the NULL count alone.
 */
function chunkStatistics(data: Uint8Array, width: number, nulls: number): ThriftStruct {
  const n = data.length / width;
  if (n === 0) return { 3: i64(nulls) };
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  let min = 0;
  let max = 0;
  if (width === 8) {
    // (signed high word, unsigned low word) pairs: no BigInt per value
    let minHi = view.getInt32(4, true), minLo = view.getUint32(0, true), maxHi = minHi, maxLo = minLo;
    for (let i = 1; i < n; i++) {
      const hi = view.getInt32(8 * i + 4, true);
      const lo = view.getUint32(8 * i, true);
      if (hi < minHi || (hi === minHi && lo < minLo)) { minHi = hi; minLo = lo; min = i; }
      if (hi > maxHi || (hi === maxHi && lo > maxLo)) { maxHi = hi; maxLo = lo; max = i; }
    }
  } else {
    for (let i = 1; i < n; i++) {
      const v = view.getInt32(4 * i, true);
      if (v < view.getInt32(4 * min, true)) min = i;
      if (v > view.getInt32(4 * max, true)) max = i;
    }
  }
  const lo = data.slice(min * width, (min + 1) * width);
  const hi = data.slice(max * width, (max + 1) * width);
  return { 1: { t: T.BINARY, v: hi }, 2: { t: T.BINARY, v: lo }, 3: i64(nulls), 5: { t: T.BINARY, v: hi }, 6: { t: T.BINARY, v: lo } };
}

/**
 * Dictionary indices of a data page (one byte each in `indices`): the index bit width, then one bit-packed run
 * (RLE hybrid without length prefix) of 8-bit values, the last group of 8 padded.
 */
function dictionaryIndices(indices: Uint8Array): Uint8Array {
  const groups = Math.ceil(indices.length / 8);
  const header = varint((groups << 1) | 1);
  const out = new Uint8Array(1 + header.length + 8 * groups);
  out[0] = DICTIONARY_INDEX_BITS;
  out.set(header, 1);
  out.set(indices, 1 + header.length);
  return out;
}

function varint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v >>>= 7) out.push((v & 0x7f) | 0x80);
  out.push(v);
  return out;
}

/** The values of rows [r0, r1) of a column with a `source`, in row order, into `out` (their size at least). */
function sourceValues(data: Uint8Array, source: NonNullable<PlainColumn['source']>, r0: number, r1: number, out: Uint8Array): Uint8Array {
  const { at, run, count } = source;
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    // the last run starting at or before r0
    const mid = (lo + hi + 1) >>> 1;
    if (run[2 * mid]! <= r0) lo = mid;
    else hi = mid - 1;
  }
  const d = new Uint8Array(data.buffer, data.byteOffset, data.length); // a plain view: subarray() of it allocates no Buffer
  let k = lo;
  let o = 0;
  for (let i = r0; i < r1; ) {
    while (run[2 * k + 2]! <= i) k++;
    const end = Math.min(r1, run[2 * k + 2]!);
    const s = run[2 * k + 1]! + (i - run[2 * k]!);
    const a = at[s]!;
    const b = at[s + (end - i)]!;
    if (b - a > 64) out.set(d.subarray(a, b), o);
    else for (let x = a; x < b; x++) out[o + x - a] = d[x]!;
    o += b - a;
    i = end;
  }
  return out.subarray(0, o);
}

/** BOOLEAN PLAIN: one bit per value, least significant first. */
function packBooleans(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 8));
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) out[i >>> 3]! |= 1 << (i & 7);
  return out;
}

/**
 * Write `columns` (each with `numRows` rows) as a Parquet file at `path`, fsync'd; returns its size. Asynchronous,
 * so the capture keeps reading the kernel agent while a segment goes to disk.
 */
export async function writeParquet(path: string, columns: PlainColumn[], numRows: number, o: ParquetWriteOptions = {}): Promise<number> {
  const groupRows = o.rowGroupRows ?? ROW_GROUP_ROWS;
  const pageRows = Math.min(o.pageRows ?? groupRows, groupRows);
  if (groupRows % pageRows !== 0) throw new Error('writeParquet: rowGroupRows must be a multiple of pageRows');
  const codecId = o.codec?.id ?? CODEC_UNCOMPRESSED;
  const fh = await open(path, o.overwrite ? 'r+' : 'w');
  try {
    let offset = 0;
    const pending: Uint8Array[] = [];
    const write = (b: Uint8Array): void => {
      pending.push(b);
      o.onBytes?.(b);
      offset += b.length;
    };
    write(MAGIC);
    const groups = Math.max(1, Math.ceil(numRows / groupRows));
    const pages = Math.max(1, Math.ceil(numRows / pageRows));
    const counted = new Map<Uint8Array, number[]>();
    const levelsOf = new Map<Uint8Array, Uint8Array[]>();
    const starts = columns.map((col) => pageByteStarts(valueWidth(col), col.data, col.lengths, col.present, numRows, pageRows, pages, counted));
    const pagesPerGroup = groupRows / pageRows;
    const rowGroups: ThriftStruct[] = [];
    for (let g = 0; g < groups; g++) {
      const rows = Math.min(groupRows, numRows - g * groupRows);
      const chunks: ThriftStruct[] = [];
      let totalBytes = 0;
      for (const [c, col] of columns.entries()) {
        const optional = col.optional === true || col.present !== undefined;
        const chunkOffset = offset;
        let uncompressed = 0;
        let compressed = 0;
        const dict = col.dictionary;
        if (dict) {
          if (dict.size > 256) throw new Error(`writeParquet: column ${col.name} has a dictionary of ${dict.size} values (256 at most)`);
          const stored = o.codec ? await o.codec.compress(dict.values) : dict.values;
          const pageHeader = encodeStruct({
            1: i32(PAGE_DICTIONARY),
            2: i32(dict.values.length),
            3: i32(stored.length),
            7: struct({ 1: i32(dict.size), 2: i32(ENCODING_PLAIN) }),
          });
          write(pageHeader);
          write(stored);
          uncompressed += pageHeader.length + dict.values.length;
          compressed += pageHeader.length + stored.length;
        }
        const dataOffset = offset;
        const firstPage = g * pagesPerGroup;
        for (let p = g * pagesPerGroup; p < Math.min(pages, (g + 1) * pagesPerGroup); p++) {
          const r0 = p * pageRows;
          const r1 = Math.max(r0, Math.min(numRows, r0 + pageRows));
          const scratch = o.scratch ?? (o.scratch = new ScratchMemory());
          let values = col.data.subarray(starts[c]![p]!, starts[c]![p + 1]!);
          if (col.source) {
            if (col.present || !col.lengths) throw new Error(`writeParquet: column ${col.name} has a source order without lengths or with NULLs`);
            const n = starts[c]![p + 1]! - starts[c]![p]!;
            // the page is compressed (a copy) or copied behind its levels before the next page reuses the memory
            values = sourceValues(col.data, col.source, r0, r1, o.codec || optional ? scratch.bytes('page.values', n) : new Uint8Array(n));
          }
          if (col.type === PHYSICAL.BOOLEAN) values = packBooleans(values);
          if (dict) values = dictionaryIndices(values);
          let body: Uint8Array = values;
          if (optional) {
            const levels = pageLevels(col.present, r0, r1, p, levelsOf);
            // the codec copies the body (into its own heap), so one reused buffer serves every page
            body = o.codec ? scratch.bytes('page', levels.length + values.length) : new Uint8Array(levels.length + values.length);
            body.set(levels);
            body.set(values, levels.length);
          }
          const stored = o.codec ? await compressPage(o.codec, body) : body;
          const pageHeader = encodeStruct({
            1: i32(PAGE_DATA),
            2: i32(body.length),
            3: i32(stored.length),
            5: struct({ 1: i32(r1 - r0), 2: i32(dict ? ENCODING_RLE_DICTIONARY : ENCODING_PLAIN), 3: i32(ENCODING_RLE), 4: i32(ENCODING_RLE) }),
          });
          write(pageHeader);
          write(stored);
          uncompressed += pageHeader.length + body.length;
          compressed += pageHeader.length + stored.length;
        }
        totalBytes += uncompressed;
        const lastPage = Math.min(pages, (g + 1) * pagesPerGroup);
        const values = starts[c]![lastPage]! - starts[c]![firstPage]!;
        const width = valueWidth(col);
        const stats =
          col.statistics && (col.type === PHYSICAL.INT32 || col.type === PHYSICAL.INT64)
            ? chunkStatistics(col.data.subarray(starts[c]![firstPage]!, starts[c]![lastPage]!), width, rows - values / width)
            : undefined;
        chunks.push({
          2: i64(chunkOffset),
          3: struct({
            1: i32(col.type),
            2: list(T.I32, dict ? [ENCODING_PLAIN, ENCODING_RLE, ENCODING_RLE_DICTIONARY] : [ENCODING_PLAIN, ENCODING_RLE]),
            3: list(T.BINARY, [col.name]),
            4: i32(codecId),
            5: i64(rows),
            6: i64(uncompressed),
            7: i64(compressed),
            9: i64(dataOffset),
            11: dict ? i64(chunkOffset) : undefined,
            12: stats === undefined ? undefined : struct(stats),
          }),
        });
      }
      rowGroups.push({ 1: list(T.STRUCT, chunks), 2: i64(totalBytes), 3: i64(rows) });
    }
    const schema: ThriftStruct[] = [{ 4: str('schema'), 5: i32(columns.length) }];
    for (const col of columns) {
      const converted = col.converted ?? (col.utf8 ? CONVERTED.UTF8 : undefined);
      const optional = col.optional === true || col.present !== undefined;
      schema.push({ 1: i32(col.type), 3: i32(optional ? OPTIONAL : REQUIRED), 4: str(col.name), 6: converted === undefined ? undefined : i32(converted) });
    }
    const footer = encodeStruct({
      1: i32(1),
      2: list(T.STRUCT, schema),
      3: i64(numRows),
      4: list(T.STRUCT, rowGroups),
      6: str(o.createdBy ?? 'nitrace spool'),
    });
    write(footer);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length);
    write(len);
    write(MAGIC);
    await writeAll(fh, pending, offset);
    if (o.overwrite) await fh.truncate(offset);
    await fh.sync();
    return offset;
  } finally {
    await fh.close();
  }
}

/**
 * An uncompressed file of REQUIRED columns in row groups of ROW_GROUP_ROWS rows (a spool, a sketch drain).
 * `overwrite`: `path` is an existing file written over in place, then cut to the new length.
 */
export function writePlainParquet(path: string, columns: PlainColumn[], numRows: number, overwrite = false): Promise<number> {
  return writeParquet(path, columns, numRows, { overwrite });
}

/**
 * writev may write only part of the buffers (a disk that fills up mid-call gives a short count, not ENOSPC);
 * writing the rest raises the error, so a short file is never taken for a whole one.
 */
async function writeAll(fh: FileHandle, buffers: Uint8Array[], total: number): Promise<void> {
  let { bytesWritten } = await fh.writev(buffers);
  if (bytesWritten === total) return;
  const all = Buffer.concat(buffers);
  while (bytesWritten < total) {
    const { bytesWritten: n } = await fh.write(all, bytesWritten, total - bytesWritten, bytesWritten);
    if (n === 0) throw new Error(`short write: ${bytesWritten} of ${total} bytes`);
    bytesWritten += n;
  }
}
