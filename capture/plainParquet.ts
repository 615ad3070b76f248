/**
 * A minimal Parquet writer for the capture's hot path: REQUIRED columns, PLAIN encoding, no compression, row
 * groups of ROW_GROUP_ROWS rows, one data page per column and row group. Column bytes are built by the caller already PLAIN-encoded (little-endian
 * integers, u32-length-prefixed byte arrays), so writing costs little more than the disk write.
 *
 * Why not a library: measured here on 300 k events x 18 columns, DuckDB's appender took 12 us/row and a TSV
 * round-trip 7 us/row; pure-JS Parquet writers are slower still (docs/capture.md). This file is a spool format
 * only: DuckDB reads it back and writes the real zstd segment (capture/segmentWriter.ts).
 * Format: https://parquet.apache.org/docs/file-format/ (thrift definitions in parquet.thrift).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { encodeStruct, i32, i64, str, struct, list, T, type ThriftStruct } from './thriftCompact.js';

/** Parquet physical types used here (parquet.thrift `Type`). */
export const PHYSICAL = { INT32: 1, INT64: 2, BYTE_ARRAY: 6 } as const;
const CONVERTED_UTF8 = 0;
const REQUIRED = 0;
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const CODEC_UNCOMPRESSED = 0;
const PAGE_DATA = 0;
const MAGIC = Buffer.from('PAR1');
/**
 * Rows per row group. DuckDB reads a column chunk whole into memory it allocates for the read: with one row group
 * per 64 MiB segment that was ~45 MB of fresh memory per conversion (its pages fault on first touch: ~30 % of the
 * conversion's page faults, by perf), which small chunks reuse.
 */
export const ROW_GROUP_ROWS = 16384;

/** Byte offset in `col.data` where each row group starts, and the end (row group g: [starts[g], starts[g + 1])). */
function rowGroupStarts(col: PlainColumn, numRows: number, groups: number): number[] {
  const starts = [0];
  if (col.type !== PHYSICAL.BYTE_ARRAY) {
    const width = col.type === PHYSICAL.INT64 ? 8 : 4;
    for (let g = 1; g <= groups; g++) starts.push(Math.min(numRows, g * ROW_GROUP_ROWS) * width);
    return starts;
  }
  const d = col.data;
  let off = 0;
  for (let r = 0; r < numRows; r++) {
    off += 4 + (d[off]! | (d[off + 1]! << 8) | (d[off + 2]! << 16) | (d[off + 3]! << 24)) >>> 0;
    if ((r + 1) % ROW_GROUP_ROWS === 0 || r + 1 === numRows) starts.push(off);
  }
  if (numRows === 0) starts.push(0);
  return starts;
}

export interface PlainColumn {
  name: string;
  type: (typeof PHYSICAL)[keyof typeof PHYSICAL];
  /** BYTE_ARRAY holding text (read back as VARCHAR). */
  utf8?: boolean;
  /** PLAIN-encoded values of all rows. */
  data: Uint8Array;
}

/**
 * Write `columns` (each with `numRows` values) as a Parquet file at `path`, fsync'd. Asynchronous, so the
 * capture keeps reading the kernel agent while a segment goes to disk. `overwrite`: `path` is an existing file
 * whose bytes are written over in place, then cut to the new length (its blocks and cached pages are reused: see
 * SegmentWriter.writeSpool).
 */
export async function writePlainParquet(path: string, columns: PlainColumn[], numRows: number, overwrite = false): Promise<number> {
  const fh = await open(path, overwrite ? 'r+' : 'w');
  try {
    let offset = 0;
    const pending: Uint8Array[] = [];
    const write = (b: Uint8Array): void => {
      pending.push(b);
      offset += b.length;
    };
    write(MAGIC);
    const groups = Math.max(1, Math.ceil(numRows / ROW_GROUP_ROWS));
    const starts = columns.map((col) => rowGroupStarts(col, numRows, groups));
    const rowGroups: ThriftStruct[] = [];
    for (let g = 0; g < groups; g++) {
      const rows = Math.min(ROW_GROUP_ROWS, numRows - g * ROW_GROUP_ROWS);
      const chunks: ThriftStruct[] = [];
      let totalBytes = 0;
      for (const [c, col] of columns.entries()) {
        const data = col.data.subarray(starts[c]![g]!, starts[c]![g + 1]!);
        const pageHeader = encodeStruct({
          1: i32(PAGE_DATA),
          2: i32(data.length),
          3: i32(data.length),
          5: struct({ 1: i32(rows), 2: i32(ENCODING_PLAIN), 3: i32(ENCODING_RLE), 4: i32(ENCODING_RLE) }),
        });
        const pageOffset = offset;
        write(pageHeader);
        write(data);
        const size = pageHeader.length + data.length;
        totalBytes += size;
        chunks.push({
          2: i64(pageOffset),
          3: struct({
            1: i32(col.type),
            2: list(T.I32, [ENCODING_PLAIN, ENCODING_RLE]),
            3: list(T.BINARY, [col.name]),
            4: i32(CODEC_UNCOMPRESSED),
            5: i64(rows),
            6: i64(size),
            7: i64(size),
            9: i64(pageOffset),
          }),
        });
      }
      rowGroups.push({ 1: list(T.STRUCT, chunks), 2: i64(totalBytes), 3: i64(rows) });
    }
    const schema: ThriftStruct[] = [{ 4: str('schema'), 5: i32(columns.length) }];
    for (const col of columns) {
      schema.push({ 1: i32(col.type), 3: i32(REQUIRED), 4: str(col.name), 6: col.utf8 ? i32(CONVERTED_UTF8) : undefined });
    }
    const footer = encodeStruct({
      1: i32(1),
      2: list(T.STRUCT, schema),
      3: i64(numRows),
      4: list(T.STRUCT, rowGroups),
      6: str('nitrace spool'),
    });
    write(footer);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length);
    write(len);
    write(MAGIC);
    await writeAll(fh, pending, offset);
    if (overwrite) await fh.truncate(offset);
    await fh.sync();
    return offset;
  } finally {
    await fh.close();
  }
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
