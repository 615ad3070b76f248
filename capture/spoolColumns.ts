/**
 * A spool (`seg-N.spool.parquet`: the uncompressed file nitrace wrote before each segment until session 5, left
 * behind by a capture killed between the two steps) read back as the builder's columns (capture/segmentBuilder.ts:
 * raw fields, PLAIN-encoded), rows in mono_ns order, so that capture-recover writes its segment the way the capture
 * does (eventColumns + writeParquet): one mapping from raw fields to the events schema, not a second one in SQL.
 * Recovery is rare and offline: DuckDB reads the spool (any nitrace's: sorted or not, with or without gid columns),
 * and the values are encoded here row by row.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { GrowableBuffer } from './growableBuffer.js';
import { PHYSICAL, type PlainColumn } from './plainParquet.js';
import type { SegmentStats } from './segmentWriter.js';

/** The builder's columns, in its order: [name, physical type, text]. gid/parent_gid are missing in schema-1 spools. */
const SPOOL_COLUMNS: [string, PlainColumn['type'], boolean][] = [
  ['mono_ns', PHYSICAL.INT64, false], ['pid', PHYSICAL.INT32, false], ['tid', PHYSICAL.INT32, false], ['comm', PHYSICAL.BYTE_ARRAY, true],
  ['fd', PHYSICAL.INT32, false], ['kind', PHYSICAL.INT32, false], ['syscall', PHYSICAL.INT32, false], ['direction', PHYSICAL.INT32, false],
  ['conn_id', PHYSICAL.INT64, false], ['family', PHYSICAL.INT32, false], ['local_addr', PHYSICAL.BYTE_ARRAY, true],
  ['local_port', PHYSICAL.INT32, false], ['remote_addr', PHYSICAL.BYTE_ARRAY, true], ['remote_port', PHYSICAL.INT32, false],
  ['netns', PHYSICAL.INT64, false], ['tcp_seq', PHYSICAL.INT64, false], ['bytes', PHYSICAL.INT64, false],
  ['payload', PHYSICAL.BYTE_ARRAY, false], ['gid', PHYSICAL.INT64, false], ['parent_gid', PHYSICAL.INT64, false],
];

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * The spool at `path` as builder columns in mono_ns order (ties in the spool's row order) and the segment's figures.
 * Text columns are read as bytes (BLOB), so any byte sequence the capture stored comes back unchanged.
 */
export async function readSpool(con: DuckDBConnection, path: string): Promise<{ columns: PlainColumn[]; stats: SegmentStats }> {
  const source = `read_parquet(${sqlString(path)}, file_row_number = true)`;
  const present = new Set((await con.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM ${source})`)).getRows().map((r) => String(r[0])));
  const select = SPOOL_COLUMNS.map(([name, type, isText]) => {
    if (!present.has(name)) {
      if (name === 'gid' || name === 'parent_gid') return `0::BIGINT AS ${name}`; // a schema-1 spool: no green threads
      throw new Error(`${path}: not a nitrace spool (no column ${name})`);
    }
    if (type === PHYSICAL.BYTE_ARRAY) return isText ? `${name}::BLOB AS ${name}` : name;
    return `${name}::${type === PHYSICAL.INT64 ? 'BIGINT' : 'INTEGER'} AS ${name}`;
  });
  const reader = await con.runAndReadAll(`SELECT ${select.join(', ')} FROM ${source} ORDER BY mono_ns, file_row_number`);
  const rows = reader.currentRowCount;
  const values = reader.getColumns();
  const columns = SPOOL_COLUMNS.map(([name, type, isText], c): PlainColumn => {
    const v = values[c]!;
    if (type === PHYSICAL.BYTE_ARRAY) {
      const out = new GrowableBuffer(1 << 16);
      for (let r = 0; r < rows; r++) {
        const b = v[r] as { bytes: Uint8Array } | null;
        out.byteArray(b === null ? new Uint8Array(0) : b.bytes);
      }
      return { name, type: PHYSICAL.BYTE_ARRAY, utf8: isText || undefined, data: out.bytes() };
    }
    if (type === PHYSICAL.INT64) {
      const out = new BigInt64Array(rows);
      for (let r = 0; r < rows; r++) out[r] = BigInt((v[r] as bigint | null) ?? 0n);
      return { name, type, data: new Uint8Array(out.buffer) };
    }
    const out = new Int32Array(rows);
    for (let r = 0; r < rows; r++) out[r] = Number(v[r] ?? 0);
    return { name, type, data: new Uint8Array(out.buffer) };
  });
  const mono = values[0]!;
  const at = (r: number): string => (rows === 0 ? '0' : String(mono[r] as bigint));
  return { columns, stats: { rows, first_mono_ns: at(0), last_mono_ns: at(rows - 1), sorted: true } };
}
