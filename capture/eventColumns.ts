/**
 * A segment's spool columns (capture/segmentBuilder.ts: raw fields, PLAIN-encoded, rows in mono_ns order) -> the
 * columns of the events schema (docs/capture-schema.md), for writeParquet (capture/plainParquet.ts): the one mapping,
 * for the capture's segments and for the spools an older nitrace left (capture-recover, capture/spoolColumns.ts). The
 * SQL that DuckDB ran for it until session 6 (testing/duckdbSpoolConversion.ts) is the oracle of
 * capture/eventColumns.test.ts: same rows, types and nullability.
 */
import { KIND_NAMES, DIRECTION_NAMES, SYSCALL_NAMES } from './eventLayout.js';
import { CONVERTED, PHYSICAL, type PlainColumn } from './plainParquet.js';
import { ScratchMemory } from './scratchMemory.js';

/** NT_KIND_DATA and NT_KIND_BLOCK (capture/event.h): the rows with a tcp_seq. */
const KIND_DATA = 1;
const KIND_BLOCK = 5;
const AF_INET = 2;
const AF_INET6 = 10;

/** The spool's 32-bit words of a fixed-width column (a copy only if it is not 4-byte aligned). */
function words(col: PlainColumn): Uint32Array {
  const d = col.data;
  if ((d.byteOffset & 3) === 0) return new Uint32Array(d.buffer, d.byteOffset, d.byteLength >>> 2);
  return new Uint32Array(Uint8Array.from(d).buffer);
}

const asBytes = (a: Uint32Array, n: number): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, n * 4);

/**
 * present[r] = 1 where the 64-bit value of row r (two words of `src`) is not 0. Read as signed words: the values
 * (random ids) have the high bit set half the time, and a Uint32Array element >= 2^31 is a heap number in code V8
 * has not optimized yet (this runs once per segment: a segment's loop starts unoptimized, ~80 ns a row, cpu-prof).
 */
function nonZero64(src: Uint32Array, rows: number, present: Uint8Array): Uint8Array {
  const v = new Int32Array(src.buffer, src.byteOffset, 2 * rows);
  for (let r = 0; r < rows; r++) present[r] = (v[2 * r]! | v[2 * r + 1]!) !== 0 ? 1 : 0;
  return present;
}

/** Every row has a value: the source serves as is (the usual case for the tuple columns). */
function allPresent(present: Uint8Array, rows: number): boolean {
  for (let r = 0; r < rows; r++) if (present[r] === 0) return false;
  return true;
}

/** The 64-bit values (two words each) of the rows with `present[r]`. */
function gather64(src: Uint32Array, present: Uint8Array, rows: number, out: Uint32Array): Uint8Array {
  if (allPresent(present, rows)) return asBytes(src, 2 * rows);
  let n = 0;
  for (let r = 0; r < rows; r++) {
    if (present[r] === 0) continue;
    out[2 * n] = src[2 * r]!;
    out[2 * n + 1] = src[2 * r + 1]!;
    n++;
  }
  return asBytes(out, 2 * n);
}

function gather32(src: Uint32Array, present: Uint8Array, rows: number, out: Uint32Array): Uint8Array {
  if (allPresent(present, rows)) return asBytes(src, rows);
  let n = 0;
  for (let r = 0; r < rows; r++) if (present[r] !== 0) out[n++] = src[r]!;
  return asBytes(out, n);
}

/** The byte-array values (u32 length + bytes) of the rows with `present[r]`, copied in runs of present rows. */
function gatherText(col: Uint8Array, present: Uint8Array, rows: number, out: Uint8Array): Uint8Array {
  const src = new Uint8Array(col.buffer, col.byteOffset, col.length); // a plain view: one element-access shape
  if (allPresent(present, rows)) return src;
  let p = 0;
  let o = 0;
  let runStart = -1;
  for (let r = 0; r < rows; r++) {
    if (present[r] !== 0) {
      if (runStart < 0) runStart = p;
    } else if (runStart >= 0) {
      out.set(src.subarray(runStart, p), o);
      o += p - runStart;
      runStart = -1;
    }
    p += 4 + ((src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0);
  }
  if (runStart >= 0) {
    out.set(src.subarray(runStart, p), o);
    o += p - runStart;
  }
  return out.subarray(0, o);
}

/**
 * A text column from small codes (kind, syscall, direction, family; < 256): NULL where `names` has none,
 * dictionary-encoded (capture/plainParquet.ts): a byte per row, not the name's text (~25 ns per row and column
 * less to build, and less for zstd to read).
 */
function namesColumn(name: string, codes: Uint32Array, names: Record<number, string | null>, rows: number, mem: ScratchMemory): PlainColumn {
  const index = new Int16Array(256).fill(-1);
  const values: Uint8Array[] = [];
  for (let c = 0; c < 256; c++) {
    if (!names[c]) continue;
    index[c] = values.length;
    values.push(plainText(names[c]!));
  }
  const present = mem.bytes(`${name}.present`, rows);
  const data = mem.bytes(name, rows);
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const c = codes[r]!;
    const v = c < 256 ? index[c]! : -1;
    present[r] = v < 0 ? 0 : 1;
    if (v >= 0) data[n++] = v;
  }
  return { name, type: PHYSICAL.BYTE_ARRAY, converted: CONVERTED.UTF8, data: data.subarray(0, n), present, dictionary: { values: Buffer.concat(values), size: values.length } };
}

/** One PLAIN byte-array value: u32 length + UTF-8 bytes. */
function plainText(text: string): Uint8Array {
  const b = Buffer.from(text, 'utf8');
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length, true);
  out.set(b, 4);
  return out;
}

/**
 * The per-row loops of eventColumns, each a function of its own. eventColumns runs once per segment: a loop in it
 * made V8 compile the whole function on-stack (with everything it inlines) and throw that away again at the next
 * code it had not seen run, segment after segment (--trace-opt/--trace-deopt: ~40 % of the replay's steady-state
 * compilation). Small functions called for every segment stay compiled.
 */

/** ts_ns = mono_ns + `off` (mod 2^64), through 16-bit halves: no sum above 2^31 (a heap number in unoptimized code). */
function realtimeNs(mono: Uint32Array, rows: number, off: bigint, out: Uint32Array): Uint32Array {
  const m = new Int32Array(mono.buffer, mono.byteOffset, 2 * rows);
  const t = new Int32Array(out.buffer, out.byteOffset, 2 * rows);
  const offLo = Number(off & 0xffffffffn) | 0;
  const offHi = Number(off >> 32n) | 0;
  const oLo16 = offLo & 0xffff;
  const oHi16 = offLo >>> 16;
  for (let r = 0; r < rows; r++) {
    const lo = m[2 * r]!;
    const low = (lo & 0xffff) + oLo16;
    const high = (lo >>> 16) + oHi16 + (low >>> 16);
    t[2 * r] = (high << 16) | (low & 0xffff);
    t[2 * r + 1] = (m[2 * r + 1]! + offHi + (high >>> 16)) | 0;
  }
  return out;
}

/** present[r] = 1 where row r is IPv4 or IPv6 (the rows with addresses, ports and netns). */
function hasAddresses(family: Uint32Array, rows: number, present: Uint8Array): Uint8Array {
  for (let r = 0; r < rows; r++) {
    const f = family[r]!;
    present[r] = f === AF_INET || f === AF_INET6 ? 1 : 0;
  }
  return present;
}

/** present[r] = 1 where row r is a data or block event (the rows with a tcp_seq). */
function hasTcpSeq(kind: Uint32Array, rows: number, present: Uint8Array): Uint8Array {
  for (let r = 0; r < rows; r++) {
    const k = kind[r]!;
    present[r] = k === KIND_DATA || k === KIND_BLOCK ? 1 : 0;
  }
  return present;
}

/** Each row's length, read from the PLAIN byte-array values (u32 length + bytes). */
function payloadLengths(payload: Uint8Array, rows: number, out: Uint32Array): Uint32Array {
  for (let r = 0, p = 0; r < rows; r++) {
    const len = (payload[p]! | (payload[p + 1]! << 8) | (payload[p + 2]! << 16) | (payload[p + 3]! << 24)) >>> 0;
    out[r] = len;
    p += 4 + len;
  }
  return out;
}

/** truncated[r] = 1 where the payload kept is shorter than the bytes moved (a u32 in the event: its high word is 0). */
function payloadTruncated(bytes: Uint32Array, lengths: Uint32Array, rows: number, truncated: Uint8Array): Uint8Array {
  for (let r = 0; r < rows; r++) truncated[r] = bytes[2 * r + 1] !== 0 || lengths[r]! < bytes[2 * r]! ? 1 : 0;
  return truncated;
}

/**
 * The events columns of a segment. `node`: the node name, `monoToRealtime`: ts_ns = mono_ns + it, `schemaVersion` 1
 * (an older capture) has no gid/parent_gid. Every column is OPTIONAL, as DuckDB wrote them, with the same physical
 * and converted types. `mem`: memory reused from segment to segment (the columns returned live in it).
 */
export function eventColumns(spool: PlainColumn[], rows: number, node: string, monoToRealtime: bigint, schemaVersion: number, mem = new ScratchMemory()): PlainColumn[] {
  const by = new Map(spool.map((c) => [c.name, c]));
  const col = (name: string): PlainColumn => {
    const c = by.get(name);
    if (!c) throw new Error(`eventColumns: the spool has no column ${name}`);
    return c;
  };
  const w = (name: string): Uint32Array => words(col(name));
  const mono = w('mono_ns');
  const kind = w('kind');
  const family = w('family');
  const bytes = w('bytes');
  const connId = w('conn_id');

  const ts = realtimeNs(mono, rows, BigInt.asUintN(64, monoToRealtime), mem.words('ts_ns', 2 * rows));

  // one value: a dictionary of it, index 0 in every row
  const nodeData = mem.bytes('node', rows).fill(0);

  const hasTuple = hasAddresses(family, rows, mem.bytes('hasTuple', rows));
  const hasSeq = hasTcpSeq(kind, rows, mem.bytes('hasSeq', rows));
  const hasConn = nonZero64(connId, rows, mem.bytes('hasConn', rows));

  // payload_truncated: the payload's length < bytes (bytes is a u32 in the event: its high word is 0)
  // (the lengths from the builder when it passes them: reading them from the values is a cache miss per row)
  const payloadCol = col('payload');
  const payload = new Uint8Array(payloadCol.data.buffer, payloadCol.data.byteOffset, payloadCol.data.length);
  const lengths = payloadCol.lengths;
  if (payloadCol.source && !lengths) throw new Error('eventColumns: a payload column in another order needs its lengths');
  const truncated = payloadTruncated(bytes, lengths ?? payloadLengths(payload, rows, mem.words('payload_len', rows)), rows, mem.bytes('payload_truncated', rows));

  const I32 = PHYSICAL.INT32, I64 = PHYSICAL.INT64, BA = PHYSICAL.BYTE_ARRAY;
  const all = (name: string, type: PlainColumn['type'], converted: number | undefined, data: Uint8Array): PlainColumn => ({ name, type, converted, data, optional: true });
  // min/max in the footer for the time columns (readers skip row groups outside a time range, as with DuckDB's files)
  const timed = (name: string, data: Uint8Array): PlainColumn => ({ ...all(name, I64, CONVERTED.INT_64, data), statistics: true });
  const some = (name: string, type: PlainColumn['type'], converted: number | undefined, data: Uint8Array, present: Uint8Array): PlainColumn => ({ name, type, converted, data, present });
  const columns: PlainColumn[] = [
    timed('ts_ns', asBytes(ts, 2 * rows)),
    timed('mono_ns', col('mono_ns').data),
    { ...all('node', BA, CONVERTED.UTF8, nodeData), dictionary: { values: plainText(node), size: 1 } },
    all('pid', I32, CONVERTED.INT_32, col('pid').data),
    all('tid', I32, CONVERTED.INT_32, col('tid').data),
    all('comm', BA, CONVERTED.UTF8, col('comm').data),
    all('fd', I32, CONVERTED.INT_32, col('fd').data),
    namesColumn('event', kind, KIND_NAMES, rows, mem),
    namesColumn('syscall', w('syscall'), SYSCALL_NAMES, rows, mem),
    namesColumn('direction', w('direction'), DIRECTION_NAMES, rows, mem),
    some('conn_id', I64, CONVERTED.UINT_64, gather64(connId, hasConn, rows, mem.words('conn_id', 2 * rows)), hasConn),
    namesColumn('family', family, { [AF_INET]: 'ipv4', [AF_INET6]: 'ipv6' }, rows, mem),
    some('local_addr', BA, CONVERTED.UTF8, gatherText(col('local_addr').data, hasTuple, rows, mem.bytes('local_addr', col('local_addr').data.length)), hasTuple),
    some('local_port', I32, CONVERTED.INT_32, gather32(w('local_port'), hasTuple, rows, mem.words('local_port', rows)), hasTuple),
    some('remote_addr', BA, CONVERTED.UTF8, gatherText(col('remote_addr').data, hasTuple, rows, mem.bytes('remote_addr', col('remote_addr').data.length)), hasTuple),
    some('remote_port', I32, CONVERTED.INT_32, gather32(w('remote_port'), hasTuple, rows, mem.words('remote_port', rows)), hasTuple),
    some('netns', I64, CONVERTED.UINT_64, gather64(w('netns'), hasTuple, rows, mem.words('netns', 2 * rows)), hasTuple),
    some('tcp_seq', I64, CONVERTED.UINT_64, gather64(w('tcp_seq'), hasSeq, rows, mem.words('tcp_seq', 2 * rows)), hasSeq),
    all('bytes', I64, CONVERTED.INT_64, col('bytes').data),
    { ...all('payload', BA, undefined, payload), lengths, source: payloadCol.source },
    all('payload_truncated', PHYSICAL.BOOLEAN, undefined, truncated),
  ];
  if (schemaVersion >= 2) {
    for (const name of ['gid', 'parent_gid']) {
      const v = w(name);
      const present = nonZero64(v, rows, mem.bytes(`${name}.present`, rows));
      columns.push(some(name, I64, CONVERTED.UINT_64, gather64(v, present, rows, mem.words(name, 2 * rows)), present));
    }
  }
  return columns;
}
