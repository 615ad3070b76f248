import { GrowableBuffer } from './growableBuffer.js';
import { OFFSET, EVENT_HEADER_SIZE } from './eventLayout.js';
import { PHYSICAL, type PlainColumn } from './plainParquet.js';
import { formatAddr } from './formatAddr.js';
import { PayloadRedactor } from './redact.js';
import type { SegmentStats } from './segmentWriter.js';

/** NT_KIND_DATA and NT_KIND_CLOSE (capture/event.h). */
const KIND_DATA = 1;
const KIND_CLOSE = 4;

/**
 * Accumulates decoded events of one segment as PLAIN-encoded spool columns (capture/plainParquet.ts). The hot
 * path of the capture: per event it copies fixed fields byte for byte, redacts the payload in place, and looks
 * text (comm, addresses) up in small caches.
 */
/**
 * Fixed-width spool columns as 32-bit words, in PLAIN little-endian layout (x86_64 is little-endian, so the
 * typed arrays' memory is the Parquet encoding). 64-bit columns use two words per row.
 */
const FIXED = [
  // [column, words per row]
  ['mono_ns', 2], ['pid', 1], ['tid', 1], ['fd', 1], ['kind', 1], ['syscall', 1], ['direction', 1], ['family', 1],
  ['conn_id', 2], ['local_port', 1], ['remote_port', 1], ['netns', 2], ['tcp_seq', 2], ['bytes', 2],
  ['gid', 2], ['parent_gid', 2],
] as const;
type FixedName = (typeof FIXED)[number][0];

/**
 * Accumulates decoded events of one segment as PLAIN-encoded spool columns (capture/plainParquet.ts). The hot
 * path of the capture: per event it stores fixed fields into typed arrays, redacts the payload in place, and
 * looks text (comm, addresses) up in small caches.
 */
export class SegmentBuilder {
  rows = 0;
  redacted = 0;
  /** pids seen in this segment, for the process table. */
  readonly pids = new Set<number>();

  private capacity = 0;
  private fixed = {} as Record<FixedName, Uint32Array>;
  private readonly text: { comm: GrowableBuffer; local_addr: GrowableBuffer; remote_addr: GrowableBuffer; payload: GrowableBuffer };
  private readonly commByTid: Map<number, { raw: Buffer; text: Buffer }>;
  private readonly addrByConn: Map<number, { conn: Buffer; raw: Buffer; local: Buffer; remote: Buffer }>;
  private lastPid = -1;
  /** Rows arrived in mono_ns order so far (the consumer merges per-CPU rings in batches, so often they do not). */
  private ordered = true;
  private lastHi = 0;
  private lastLo = 0;
  /** Memory for the columns in mono_ns order (columns() of an unordered segment), reused like the columns. */
  private sortedFixed: Uint32Array = new Uint32Array(0);
  private sortedText: Buffer[] = [];
  private static readonly EMPTY = Buffer.alloc(0);

  /**
   * `redactor` (null: --no-redact) outlives the segment: it holds per-connection state, and a value split across
   * two syscalls may straddle a segment boundary. `recycled`: a builder whose spool is on disk, whose memory this
   * one takes over (already grown to a segment's size and mapped: growing fresh buffers for every segment cost
   * more, in page faults and copies, than filling them; measured in bench/decodeRedactBench.ts).
   */
  constructor(private readonly redactor: PayloadRedactor | null, recycled?: SegmentBuilder) {
    if (recycled) {
      this.fixed = recycled.fixed;
      this.capacity = recycled.capacity;
      this.text = recycled.text;
      for (const t of Object.values(this.text)) t.reset();
      this.commByTid = recycled.commByTid;
      this.addrByConn = recycled.addrByConn;
      this.sortedFixed = recycled.sortedFixed;
      this.sortedText = recycled.sortedText;
      recycled.capacity = 0;
      recycled.rows = 0;
    } else {
      this.text = { comm: new GrowableBuffer(), local_addr: new GrowableBuffer(), remote_addr: new GrowableBuffer(), payload: new GrowableBuffer(1 << 20) };
      this.commByTid = new Map();
      this.addrByConn = new Map();
      this.grow(4096);
    }
  }

  private grow(capacity: number): void {
    const next = {} as Record<FixedName, Uint32Array>;
    for (const [name, words] of FIXED) {
      next[name] = new Uint32Array(capacity * words);
      if (this.capacity) next[name].set(this.fixed[name].subarray(0, this.rows * words));
    }
    this.fixed = next;
    this.capacity = capacity;
  }

  /** Bytes held in memory, to rotate segments by size. */
  get byteSize(): number {
    let n = this.rows * 4 * FIXED.reduce((s, [, w]) => s + w, 0);
    for (const c of Object.values(this.text)) n += c.length;
    return n;
  }

  /**
   * Append one event: `struct nt_event` + payload at `buf[off..]`. The payload is redacted in place first.
   * Offsets rather than views: a Buffer view per event is an allocation, and the GC then shows in profiles.
   */
  add(buf: Buffer, off: number): void {
    if (this.rows === this.capacity) this.grow(this.capacity * 2);
    const r = this.rows;
    const f = this.fixed;
    const lo = buf.readUInt32LE(off + OFFSET.tsMonoNs);
    const hi = buf.readUInt32LE(off + OFFSET.tsMonoNs + 4);
    f.mono_ns[2 * r] = lo;
    f.mono_ns[2 * r + 1] = hi;
    if (hi < this.lastHi || (hi === this.lastHi && lo < this.lastLo)) this.ordered = false;
    this.lastHi = hi;
    this.lastLo = lo;
    const pid = buf.readUInt32LE(off + OFFSET.pid);
    f.pid[r] = pid;
    f.tid[r] = buf.readUInt32LE(off + OFFSET.tid);
    f.fd[r] = buf.readUInt32LE(off + OFFSET.fd);
    f.kind[r] = buf[off + OFFSET.kind]!;
    f.syscall[r] = buf[off + OFFSET.syscall]!;
    f.direction[r] = buf[off + OFFSET.direction]!;
    const family = buf[off + OFFSET.family]!;
    f.family[r] = family;
    f.conn_id[2 * r] = buf.readUInt32LE(off + OFFSET.connId);
    f.conn_id[2 * r + 1] = buf.readUInt32LE(off + OFFSET.connId + 4);
    f.local_port[r] = buf.readUInt16LE(off + OFFSET.localPort);
    f.remote_port[r] = buf.readUInt16LE(off + OFFSET.remotePort);
    f.netns[2 * r] = buf.readUInt32LE(off + OFFSET.netns);
    f.netns[2 * r + 1] = 0;
    f.tcp_seq[2 * r] = buf.readUInt32LE(off + OFFSET.tcpSeq);
    f.tcp_seq[2 * r + 1] = 0;
    f.bytes[2 * r] = buf.readUInt32LE(off + OFFSET.bytes);
    f.bytes[2 * r + 1] = 0;
    f.gid[2 * r] = buf.readUInt32LE(off + OFFSET.gid);
    f.gid[2 * r + 1] = buf.readUInt32LE(off + OFFSET.gid + 4);
    f.parent_gid[2 * r] = buf.readUInt32LE(off + OFFSET.parentGid);
    f.parent_gid[2 * r + 1] = buf.readUInt32LE(off + OFFSET.parentGid + 4);
    const t = this.text;
    t.comm.byteArray(this.comm(buf, off));
    if (family === 2 || family === 10) {
      const a = this.addresses(buf, off, family);
      t.local_addr.byteArray(a.local);
      t.remote_addr.byteArray(a.remote);
    } else {
      t.local_addr.byteArray(SegmentBuilder.EMPTY);
      t.remote_addr.byteArray(SegmentBuilder.EMPTY);
    }
    const payloadLen = buf.readUInt32LE(off + OFFSET.payloadLen);
    const start = off + EVENT_HEADER_SIZE;
    const redactor = this.redactor;
    if (redactor !== null) {
      const kind = buf[off + OFFSET.kind]!;
      const conn = buf.readUInt32LE(off + OFFSET.connId);
      if (kind === KIND_DATA) {
        if (redactor.redactStream(buf, start, payloadLen, conn, buf[off + OFFSET.direction]!, buf.readUInt32LE(off + OFFSET.bytes), buf.readUInt32LE(off + OFFSET.tcpSeq)) > 0) this.redacted++;
      } else if (kind === KIND_CLOSE) {
        redactor.closeConnection(conn);
      }
    }
    t.payload.byteArray(buf, start, payloadLen);
    if (pid !== this.lastPid) {
      this.pids.add(pid);
      this.lastPid = pid;
    }
    this.rows = r + 1;
  }

  /** Thread names repeat: cache the encoded name per tid, checked against the raw 16 bytes. */
  private comm(buf: Buffer, off: number): Buffer {
    const tid = buf.readUInt32LE(off + OFFSET.tid);
    const at = off + OFFSET.comm;
    const known = this.commByTid.get(tid);
    if (known && sameWords(known.raw, buf, at, 4)) return known.text;
    let end = 0;
    while (end < 16 && buf[at + end] !== 0) end++;
    const entry = { raw: Buffer.from(buf.subarray(at, at + 16)), text: Buffer.from(buf.subarray(at, at + end)) };
    this.commByTid.set(tid, entry);
    return entry.text;
  }

  /** Address text per connection, keyed by the low 32 bits of conn_id and checked against conn_id + raw addresses. */
  private addresses(buf: Buffer, off: number, family: number): { local: Buffer; remote: Buffer } {
    const key = buf.readUInt32LE(off + OFFSET.connId);
    const known = this.addrByConn.get(key);
    if (known && sameWords(known.conn, buf, off + OFFSET.connId, 2) && sameWords(known.raw, buf, off + OFFSET.localAddr, 8)) return known;
    const entry = {
      conn: Buffer.from(buf.subarray(off + OFFSET.connId, off + OFFSET.connId + 8)),
      raw: Buffer.from(buf.subarray(off + OFFSET.localAddr, off + OFFSET.localAddr + 32)),
      local: Buffer.from(formatAddr(buf, off + OFFSET.localAddr, family)),
      remote: Buffer.from(formatAddr(buf, off + OFFSET.remoteAddr, family)),
    };
    if (this.addrByConn.size > 200_000) this.addrByConn.clear();
    this.addrByConn.set(key, entry);
    return entry;
  }

  /** Rows and first/last mono_ns of the segment: the manifest's figures, without reading the segment back. */
  stats(): SegmentStats {
    const m = this.fixed.mono_ns;
    let min = 0;
    let max = 0;
    for (let r = 1; r < this.rows; r++) {
      const hi = m[2 * r + 1]!;
      const lo = m[2 * r]!;
      if (hi < m[2 * min + 1]! || (hi === m[2 * min + 1]! && lo < m[2 * min]!)) min = r;
      if (hi > m[2 * max + 1]! || (hi === m[2 * max + 1]! && lo > m[2 * max]!)) max = r;
    }
    const at = (r: number) => (this.rows === 0 ? '0' : ((BigInt(m[2 * r + 1]!) << 32n) | BigInt(m[2 * r]!)).toString());
    return { rows: this.rows, first_mono_ns: at(min), last_mono_ns: at(max), sorted: true };
  }

  /**
   * The spool columns, in the order segmentWriter's SQL expects, rows in mono_ns order (ties in arrival order): the
   * segment's contract (docs/capture-schema.md). Sorting here rather than in DuckDB's COPY: DuckDB sorting the wide
   * rows (payloads) cost about as much as the rest of the conversion (measured on the replay sample, ~3 us/event);
   * here it is a sort of 64-bit keys and one gather per column, only when rows did not arrive in order.
   */
  columns(): PlainColumn[] {
    const I32 = PHYSICAL.INT32, I64 = PHYSICAL.INT64, BA = PHYSICAL.BYTE_ARRAY;
    const order = this.ordered ? null : this.sortOrder();
    let fixedAt = 0;
    if (order) {
      const words = this.rows * FIXED.reduce((s, [, w]) => s + w, 0);
      if (this.sortedFixed.length < words) this.sortedFixed = new Uint32Array(words + (words >>> 2));
    }
    const fixed = (name: FixedName, words: number): Buffer => {
      const col = this.fixed[name];
      if (!order) return Buffer.from(col.buffer, 0, this.rows * 4 * words);
      const out = this.sortedFixed.subarray(fixedAt, fixedAt + this.rows * words);
      fixedAt += this.rows * words;
      if (words === 1) for (let i = 0; i < order.length; i++) out[i] = col[order[i]!]!;
      else for (let i = 0; i < order.length; i++) { const r = order[i]!; out[2 * i] = col[2 * r]!; out[2 * i + 1] = col[2 * r + 1]!; }
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    };
    let textAt = 0;
    const text = (g: GrowableBuffer): Buffer => (order ? this.gatherText(g.bytes(), order, textAt++) : g.bytes());
    const t = this.text;
    return [
      { name: 'mono_ns', type: I64, data: fixed('mono_ns', 2) },
      { name: 'pid', type: I32, data: fixed('pid', 1) },
      { name: 'tid', type: I32, data: fixed('tid', 1) },
      { name: 'comm', type: BA, utf8: true, data: text(t.comm) },
      { name: 'fd', type: I32, data: fixed('fd', 1) },
      { name: 'kind', type: I32, data: fixed('kind', 1) },
      { name: 'syscall', type: I32, data: fixed('syscall', 1) },
      { name: 'direction', type: I32, data: fixed('direction', 1) },
      { name: 'conn_id', type: I64, data: fixed('conn_id', 2) },
      { name: 'family', type: I32, data: fixed('family', 1) },
      { name: 'local_addr', type: BA, utf8: true, data: text(t.local_addr) },
      { name: 'local_port', type: I32, data: fixed('local_port', 1) },
      { name: 'remote_addr', type: BA, utf8: true, data: text(t.remote_addr) },
      { name: 'remote_port', type: I32, data: fixed('remote_port', 1) },
      { name: 'netns', type: I64, data: fixed('netns', 2) },
      { name: 'tcp_seq', type: I64, data: fixed('tcp_seq', 2) },
      { name: 'bytes', type: I64, data: fixed('bytes', 2) },
      { name: 'payload', type: BA, data: text(t.payload) },
      { name: 'gid', type: I64, data: fixed('gid', 2) },
      { name: 'parent_gid', type: I64, data: fixed('parent_gid', 2) },
    ];
  }

  /**
   * Row numbers in mono_ns order, ties in arrival order. Keys are (mono_ns - min) << bits | row in a BigUint64Array,
   * built through a 32-bit view (no BigInt per row) and sorted natively; a segment spanning more than 2^(64-bits) ns
   * (hours) falls back to a comparison sort.
   */
  private sortOrder(): Uint32Array {
    const n = this.rows;
    const m = this.fixed.mono_ns;
    let minHi = m[1]!;
    let minLo = m[0]!;
    for (let r = 1; r < n; r++) {
      const hi = m[2 * r + 1]!;
      if (hi < minHi || (hi === minHi && m[2 * r]! < minLo)) {
        minHi = hi;
        minLo = m[2 * r]!;
      }
    }
    const bits = 32 - Math.clz32(n);
    const order = new Uint32Array(n);
    const keys = new BigUint64Array(n);
    const k32 = new Uint32Array(keys.buffer);
    const limit = 2 ** (32 - bits);
    for (let r = 0; r < n; r++) {
      const lo = m[2 * r]!;
      const dLo = (lo - minLo) >>> 0;
      const dHi = m[2 * r + 1]! - minHi - (lo < minLo ? 1 : 0);
      if (dHi >= limit) return this.sortOrderSlow();
      k32[2 * r] = ((dLo << bits) | r) >>> 0;
      k32[2 * r + 1] = ((dHi << bits) | (dLo >>> (32 - bits))) >>> 0;
    }
    keys.sort();
    const mask = 2 ** bits - 1;
    for (let i = 0; i < n; i++) order[i] = k32[2 * i]! & mask;
    return order;
  }

  private sortOrderSlow(): Uint32Array {
    const m = this.fixed.mono_ns;
    const idx = Array.from({ length: this.rows }, (_, r) => r).sort((a, b) => m[2 * a + 1]! - m[2 * b + 1]! || m[2 * a]! - m[2 * b]! || a - b);
    return Uint32Array.from(idx);
  }

  /** A PLAIN byte-array column's values (u32 length + bytes each) rearranged in `order`, into reused memory. */
  private gatherText(src: Buffer, order: Uint32Array, slot: number): Buffer {
    const n = order.length;
    const at = new Uint32Array(n);
    for (let r = 0, p = 0; r < n; r++) {
      at[r] = p;
      p += 4 + src.readUInt32LE(p);
    }
    if ((this.sortedText[slot]?.length ?? -1) < src.length) this.sortedText[slot] = Buffer.allocUnsafe(src.length + (src.length >>> 2));
    const out = this.sortedText[slot]!;
    const from = new Uint8Array(src.buffer, src.byteOffset, src.length); // a plain view: subarray() of it allocates no Buffer
    let p = 0;
    for (let i = 0; i < n; i++) {
      const s = at[order[i]!]!;
      const len = 4 + src.readUInt32LE(s);
      if (len > 64) out.set(from.subarray(s, s + len), p);
      else for (let k = 0; k < len; k++) out[p + k] = from[s + k]!;
      p += len;
    }
    return out.subarray(0, p);
  }
}

/** `n` 32-bit words of `a` equal those of `b` at `at`? (Fields compared word by word: 4x fewer loads than bytes.) */
function sameWords(a: Buffer, b: Buffer, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a.readUInt32LE(4 * i) !== b.readUInt32LE(at + 4 * i)) return false;
  return true;
}
