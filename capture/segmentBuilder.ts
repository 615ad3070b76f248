import { GrowableBuffer } from './growableBuffer.js';
import { OFFSET, EVENT_HEADER_SIZE } from './eventLayout.js';
import { PHYSICAL, type PlainColumn } from './plainParquet.js';
import { formatAddr } from './formatAddr.js';
import { PayloadRedactor } from './redact.js';
import { ScratchMemory } from './scratchMemory.js';
import { countRuns, mergeRuns } from './naturalMerge.js';
import type { SegmentStats } from './segmentWriter.js';

/** Memory reserved up front at most (larger --segment-mb grow as before). */
const MAX_RESERVE = 256 * 2 ** 20;

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
/** Least bytes a row adds to byteSize (fixed words + four length prefixes): a segment of N bytes has fewer rows. */
/** Slots of the builder's direct-mapped caches (powers of two). */
const PID_SLOTS = 256;
const ADDR_SLOTS = 1024;
const MIN_ROW_BYTES = 4 * FIXED.reduce((s, [, w]) => s + w, 0) + 16;

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
  /**
   * Each row's payload length (not a spool column: the writer's walks over the payload column - offsets for the
   * sort, payload_truncated, page boundaries - read it here instead of chasing lengths through ~40 MB of payloads,
   * a cache miss per row each).
   */
  private payloadLengths = new Uint32Array(0);
  private readonly text: { comm: GrowableBuffer; local_addr: GrowableBuffer; remote_addr: GrowableBuffer; payload: GrowableBuffer };
  private readonly commByTid: Map<number, CommText>;
  private readonly addrByConn: Map<number, AddrText>;
  /**
   * Address texts direct-mapped by the low bits of conn (random: a socket address xor a salt), in front of
   * `addrByConn`: an array load instead of a Map lookup. An entry is only a hint, checked like the Map's.
   */
  private readonly addrSlots: (AddrText | null)[];
  private lastComm: CommText | null = null;
  private lastAddr: AddrText | null = null;
  /** The buffer events currently come from, and views of it. */
  private src: Buffer | null = null;
  private u8: Uint8Array | null = null;
  private u32: Uint32Array | null = null;
  private dv: DataView | null = null;
  private scratch: Buffer = Buffer.allocUnsafeSlow(4096);
  private lastPid = -1;
  /** pids already in `pids`, direct-mapped by their low bits (events of a few processes interleave): a Set add per pid change otherwise. */
  private readonly pidSlots = new Int32Array(PID_SLOTS).fill(-1);
  /** Rows arrived in mono_ns order so far (the consumer merges per-CPU rings in batches, so often they do not). */
  private ordered = true;
  private lastHi = 0;
  private lastLo = 0;
  /**
   * Memory for the columns in mono_ns order (columns() of an unordered segment) when the caller passes none. The
   * capture passes its writer's (segments are written one at a time), so two builders share one sorted copy.
   */
  private sortedMemory = new ScratchMemory();

  /**
   * `redactor` (null: --no-redact) outlives the segment: it holds per-connection state, and a value split across
   * two syscalls may straddle a segment boundary. `recycled`: a builder whose spool is on disk, whose memory this
   * one takes over (already grown to a segment's size and mapped: growing fresh buffers for every segment cost
   * more, in page faults and copies, than filling them; measured in bench/decodeRedactBench.ts).
   */
  constructor(private readonly redactor: PayloadRedactor | null, recycled?: SegmentBuilder, segmentBytes = 0) {
    if (recycled) {
      this.fixed = recycled.fixed;
      this.payloadLengths = recycled.payloadLengths;
      this.capacity = recycled.capacity;
      this.text = recycled.text;
      for (const t of Object.values(this.text)) t.reset();
      this.commByTid = recycled.commByTid;
      this.addrByConn = recycled.addrByConn;
      this.addrSlots = recycled.addrSlots;
      this.scratch = recycled.scratch;
      this.sortedMemory = recycled.sortedMemory;
      recycled.capacity = 0;
      recycled.rows = 0;
    } else {
      // Sized for a whole segment at once when its size is known: the memory is only reserved (the kernel maps pages
      // as they are first written), while growing by doubling copied every column again and faulted fresh pages in
      // each time (~20 % of the replay benchmark's CPU for a first segment, cpu-prof, dev).
      const bytes = Math.min(segmentBytes, MAX_RESERVE);
      const rows = Math.max(4096, Math.ceil(bytes / MIN_ROW_BYTES) + 1024);
      const textBytes = bytes > 0 ? rows * 20 : 1 << 16;
      this.text = { comm: new GrowableBuffer(textBytes), local_addr: new GrowableBuffer(textBytes), remote_addr: new GrowableBuffer(textBytes), payload: new GrowableBuffer(Math.max(1 << 20, bytes + (1 << 17))) };
      this.commByTid = new Map();
      this.addrByConn = new Map();
      this.addrSlots = new Array<AddrText | null>(ADDR_SLOTS).fill(null);
      this.grow(rows);
    }
  }

  private grow(capacity: number): void {
    const next = {} as Record<FixedName, Uint32Array>;
    for (const [name, words] of FIXED) {
      next[name] = new Uint32Array(capacity * words);
      if (this.capacity) next[name].set(this.fixed[name].subarray(0, this.rows * words));
    }
    this.fixed = next;
    const lengths = new Uint32Array(capacity);
    lengths.set(this.payloadLengths.subarray(0, this.rows));
    this.payloadLengths = lengths;
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
   * Offsets rather than views: a Buffer view per event is an allocation, and the GC then shows in profiles. Fields
   * are read through a Uint32Array view of `buf`, made once per buffer (RecordDecoder hands out events 4-byte
   * aligned; anything else is copied to an aligned scratch first).
   */
  add(buf: Buffer, off: number): void {
    if (buf !== this.src) this.view(buf);
    if (this.u32 === null || (off & 3) !== 0) return this.addUnaligned(buf, off);
    const u = this.u32;
    const w = off >>> 2;
    if (this.rows === this.capacity) this.grow(this.capacity * 2);
    const r = this.rows;
    const f = this.fixed;
    const lo = u[w + W.tsMonoNs]!;
    const hi = u[w + W.tsMonoNs + 1]!;
    f.mono_ns[2 * r] = lo;
    f.mono_ns[2 * r + 1] = hi;
    if (hi < this.lastHi || (hi === this.lastHi && lo < this.lastLo)) this.ordered = false;
    this.lastHi = hi;
    this.lastLo = lo;
    const pid = u[w + W.pid]!;
    const tid = u[w + W.tid]!;
    f.pid[r] = pid;
    f.tid[r] = tid;
    f.fd[r] = u[w + W.fd]!;
    const kinds = u[w + W.kind]!; // kind, direction, family, syscall: one byte each
    const kind = kinds & 0xff;
    const direction = (kinds >>> 8) & 0xff;
    const family = (kinds >>> 16) & 0xff;
    f.kind[r] = kind;
    f.direction[r] = direction;
    f.family[r] = family;
    f.syscall[r] = kinds >>> 24;
    const conn = u[w + W.connId]!;
    f.conn_id[2 * r] = conn;
    f.conn_id[2 * r + 1] = u[w + W.connId + 1]!;
    const ports = u[w + W.localPort]!;
    f.local_port[r] = ports & 0xffff;
    f.remote_port[r] = ports >>> 16;
    f.netns[2 * r] = u[w + W.netns]!;
    f.netns[2 * r + 1] = 0;
    const seq = u[w + W.tcpSeq]!;
    f.tcp_seq[2 * r] = seq;
    f.tcp_seq[2 * r + 1] = 0;
    const bytes = u[w + W.bytes]!;
    f.bytes[2 * r] = bytes;
    f.bytes[2 * r + 1] = 0;
    f.gid[2 * r] = u[w + W.gid]!;
    f.gid[2 * r + 1] = u[w + W.gid + 1]!;
    f.parent_gid[2 * r] = u[w + W.parentGid]!;
    f.parent_gid[2 * r + 1] = u[w + W.parentGid + 1]!;
    const t = this.text;
    const c = this.comm(u, w, tid);
    t.comm.byteArrayFrom(c.text, c.view, 0, c.text.length);
    if (family === 2 || family === 10) {
      const a = this.addresses(u, w, conn, family);
      t.local_addr.byteArrayFrom(a.local, a.localView, 0, a.local.length);
      t.remote_addr.byteArrayFrom(a.remote, a.remoteView, 0, a.remote.length);
    } else {
      t.local_addr.emptyByteArray();
      t.remote_addr.emptyByteArray();
    }
    const payloadLen = u[w + W.payloadLen]!;
    const start = off + EVENT_HEADER_SIZE;
    const u8 = this.u8!;
    const redactor = this.redactor;
    if (redactor !== null) {
      if (kind === KIND_DATA) {
        if (redactor.redactStream(u8, start, payloadLen, conn, direction, bytes, seq) > 0) this.redacted++;
      } else if (kind === KIND_CLOSE) {
        redactor.closeConnection(conn);
      }
    }
    t.payload.byteArrayFrom(u8, this.dv!, start, payloadLen);
    this.payloadLengths[r] = payloadLen;
    if (pid !== this.lastPid) {
      const slot = pid & (PID_SLOTS - 1);
      if (this.pidSlots[slot] !== (pid | 0)) {
        this.pids.add(pid);
        this.pidSlots[slot] = pid | 0;
      }
      this.lastPid = pid;
    }
    this.rows = r + 1;
  }

  /** Views of the buffer events come from (once per buffer: the decoder hands out many events of each). */
  private view(buf: Buffer): void {
    this.src = buf;
    this.u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.length); // a plain view: its subarray() makes no Buffer
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.u32 = (buf.byteOffset & 3) === 0 ? new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2) : null;
  }

  /** An event that does not start 4-byte aligned: through an aligned copy (the redacted payload copied back). */
  private addUnaligned(buf: Buffer, off: number): void {
    const len = EVENT_HEADER_SIZE + buf.readUInt32LE(off + OFFSET.payloadLen);
    if (this.scratch.length < len) this.scratch = Buffer.allocUnsafeSlow(Math.max(len, 2 * this.scratch.length));
    buf.copy(this.scratch, 0, off, off + len);
    const src = this.src;
    this.add(this.scratch, 0);
    this.scratch.copy(buf, off + EVENT_HEADER_SIZE, EVENT_HEADER_SIZE, len);
    this.view(src!);
  }

  /** Thread names repeat: the encoded name per tid, checked against the raw 16 bytes (4 words). */
  private comm(u: Uint32Array, w: number, tid: number): CommText {
    const c = w + W.comm;
    let known = this.lastComm;
    if (known === null || known.tid !== tid) known = this.commByTid.get(tid) ?? null;
    if (known === null || known.w0 !== u[c] || known.w1 !== u[c + 1] || known.w2 !== u[c + 2] || known.w3 !== u[c + 3]) {
      const u8 = this.u8!;
      const at = c * 4; // u8 and u32 view the same bytes
      let end = 0;
      while (end < 16 && u8[at + end] !== 0) end++;
      const text = u8.slice(at, at + end);
      known = { tid, w0: u[c]!, w1: u[c + 1]!, w2: u[c + 2]!, w3: u[c + 3]!, text, view: viewOf(text) };
      this.commByTid.set(tid, known);
    }
    this.lastComm = known;
    return known;
  }

  /** Address text per connection (keyed by the low 32 bits of conn_id), checked against conn_id + raw addresses. */
  private addresses(u: Uint32Array, w: number, conn: number, family: number): AddrText {
    let known = this.lastAddr;
    if (known === null || known.conn !== conn) {
      const slot = this.addrSlots[conn & (ADDR_SLOTS - 1)]!;
      known = slot !== null && slot.conn === conn ? slot : (this.addrByConn.get(conn) ?? null);
    }
    const a = w + W.localAddr;
    if (known !== null && known.connHi === u[w + W.connId + 1] && sameWords(known.raw, u, a)) {
      this.lastAddr = known;
      this.addrSlots[conn & (ADDR_SLOTS - 1)] = known;
      return known;
    }
    const u8 = this.u8!;
    const at = w * 4;
    const local = Buffer.from(formatAddr(u8, at + OFFSET.localAddr, family));
    const remote = Buffer.from(formatAddr(u8, at + OFFSET.remoteAddr, family));
    known = { conn, connHi: u[w + W.connId + 1]!, raw: u.slice(a, a + 8), local, remote, localView: viewOf(local), remoteView: viewOf(remote) };
    if (this.addrByConn.size > 200_000) this.addrByConn.clear();
    this.addrByConn.set(conn, known);
    this.addrSlots[conn & (ADDR_SLOTS - 1)] = known;
    this.lastAddr = known;
    return known;
  }

  /** Rows and first/last mono_ns of the segment: the manifest's figures, without reading the segment back. */
  stats(): SegmentStats {
    const m = this.fixed.mono_ns;
    const min = firstRow(m, this.rows, -1);
    const max = firstRow(m, this.rows, 1);
    const at = (r: number) => (this.rows === 0 ? '0' : ((BigInt(m[2 * r + 1]!) << 32n) | BigInt(m[2 * r]!)).toString());
    return { rows: this.rows, first_mono_ns: at(min), last_mono_ns: at(max), sorted: true };
  }

  /**
   * The spool columns, in the order eventColumns expects, rows in mono_ns order (ties in arrival order): the
   * segment's contract (docs/capture-schema.md). Sorting here rather than in DuckDB's COPY: DuckDB sorting the wide
   * rows (payloads) cost about as much as the rest of the conversion (measured on the replay sample, ~3 us/event);
   * here it is a sort of 64-bit keys and one gather per column, only when rows did not arrive in order.
   * `mem`: where the sorted copy goes (valid until the next call with the same memory). The capture passes its
   * writer's memory, shared by the builders it alternates between: one sorted copy of a segment's size in all
   * (not one per builder), whose pages are touched once (a fresh page costs ~17 us on the lab VM: in a 6 s replay
   * run, fresh memory was ~750 B and ~3 us per event, dev).
   */
  columns(mem: ScratchMemory = this.sortedMemory): PlainColumn[] {
    const I32 = PHYSICAL.INT32, I64 = PHYSICAL.INT64, BA = PHYSICAL.BYTE_ARRAY;
    const order = this.ordered ? null : this.sortOrder(mem);
    const runs = order ? orderRuns(order, mem) : null;
    const fixed = (name: FixedName, words: number): Buffer => {
      const col = this.fixed[name];
      if (!runs) return Buffer.from(col.buffer, 0, this.rows * 4 * words);
      const out = mem.words(`sorted.${name}`, this.rows * words);
      gatherWords(col, words, runs, out);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    };
    const t = this.text;
    const text = (name: keyof typeof t): Buffer => (runs ? this.gatherText(t[name].bytes(), runs, mem, name) : t[name].bytes());
    // the payloads stay where they are: the writer copies each page's values in order (PlainColumn.source)
    let payloadLengths = this.payloadLengths.subarray(0, this.rows);
    let source: PlainColumn['source'];
    if (runs) {
      const at = valueStarts(payloadLengths, this.rows, mem.words('sorted.payload_at', this.rows + 1));
      source = { at, run: runs.run, count: runs.count };
      gatherWords(payloadLengths, 1, runs, (payloadLengths = mem.words('sorted.payload_len', this.rows)));
    }
    return [
      { name: 'mono_ns', type: I64, data: fixed('mono_ns', 2) },
      { name: 'pid', type: I32, data: fixed('pid', 1) },
      { name: 'tid', type: I32, data: fixed('tid', 1) },
      { name: 'comm', type: BA, utf8: true, data: text('comm') },
      { name: 'fd', type: I32, data: fixed('fd', 1) },
      { name: 'kind', type: I32, data: fixed('kind', 1) },
      { name: 'syscall', type: I32, data: fixed('syscall', 1) },
      { name: 'direction', type: I32, data: fixed('direction', 1) },
      { name: 'conn_id', type: I64, data: fixed('conn_id', 2) },
      { name: 'family', type: I32, data: fixed('family', 1) },
      { name: 'local_addr', type: BA, utf8: true, data: text('local_addr') },
      { name: 'local_port', type: I32, data: fixed('local_port', 1) },
      { name: 'remote_addr', type: BA, utf8: true, data: text('remote_addr') },
      { name: 'remote_port', type: I32, data: fixed('remote_port', 1) },
      { name: 'netns', type: I64, data: fixed('netns', 2) },
      { name: 'tcp_seq', type: I64, data: fixed('tcp_seq', 2) },
      { name: 'bytes', type: I64, data: fixed('bytes', 2) },
      { name: 'payload', type: BA, data: t.payload.bytes(), lengths: payloadLengths, source },
      { name: 'gid', type: I64, data: fixed('gid', 2) },
      { name: 'parent_gid', type: I64, data: fixed('parent_gid', 2) },
    ];
  }

  /**
   * Row numbers in mono_ns order, ties in arrival order. Keys are (mono_ns - min) << bits | row, built through a
   * 32-bit view (no BigInt per row); rows that came as a few ordered runs (capture/naturalMerge.ts: per-CPU batches)
   * are merged, others sorted natively as a BigUint64Array. A segment spanning more than 2^(64-bits) ns (hours)
   * falls back to a comparison sort. Keys and order live in `mem` (reused).
   */
  private sortOrder(mem: ScratchMemory): Uint32Array {
    const n = this.rows;
    const m = this.fixed.mono_ns;
    const bits = 32 - Math.clz32(n);
    let k32 = mem.words('sorted.keys', 2 * n);
    if (!sortKeys(m, n, firstRow(m, n, -1), bits, k32)) return this.sortOrderSlow();
    if (countRuns(k32, n) * MERGE_MAX_RUN_FRACTION <= n) k32 = mergeRuns(k32, n, mem.words('sorted.keys.merge', 2 * n));
    else new BigUint64Array(k32.buffer, 0, n).sort();
    return rowsOfKeys(k32, n, bits, mem.words('sorted.order', n));
  }

  private sortOrderSlow(): Uint32Array {
    const m = this.fixed.mono_ns;
    const idx = Array.from({ length: this.rows }, (_, r) => r).sort((a, b) => m[2 * a + 1]! - m[2 * b + 1]! || m[2 * a]! - m[2 * b]! || a - b);
    return Uint32Array.from(idx);
  }

  /** A PLAIN byte-array column's values (u32 length + bytes each) rearranged in the order of `runs`, into `mem`. */
  private gatherText(src: Buffer, runs: OrderRuns, mem: ScratchMemory, name: string): Buffer {
    const n = this.rows;
    const from = new Uint8Array(src.buffer, src.byteOffset, src.length); // a plain view: subarray() of it allocates no Buffer
    const at = mem.words('sorted.at', n + 1); // where row r's value starts; at[n]: the end
    let p = 0;
    for (let r = 0; r < n; r++) {
      at[r] = p;
      p += 4 + ((from[p]! | (from[p + 1]! << 8) | (from[p + 2]! << 16) | (from[p + 3]! << 24)) >>> 0);
    }
    at[n] = p;
    const out = mem.bytes(`sorted.${name}`, src.length);
    const { run, count } = runs;
    p = 0;
    for (let k = 0; k < count; k++) {
      const r = run[2 * k + 1]!;
      const s = at[r]!;
      const e = at[r + (run[2 * k + 2]! - run[2 * k]!)]!;
      if (e - s > 64) out.set(from.subarray(s, e), p);
      else for (let b = s; b < e; b++) out[p + b - s] = from[b]!;
      p += e - s;
    }
    return Buffer.from(out.buffer, out.byteOffset, p);
  }
}

/*
 * The per-row loops of columns(), stats() and sortOrder(), each a function of its own: those run once per segment,
 * and a loop in them made V8 compile them on-stack, with all they inline, again for every segment (--trace-opt).
 */

/** The first row of the least (`sign` -1) or greatest (1) mono_ns (pairs of words, low first). */
function firstRow(m: Uint32Array, rows: number, sign: -1 | 1): number {
  let best = 0;
  for (let r = 1; r < rows; r++) {
    const hi = m[2 * r + 1]!;
    const bestHi = m[2 * best + 1]!;
    if (sign < 0 ? hi < bestHi || (hi === bestHi && m[2 * r]! < m[2 * best]!) : hi > bestHi || (hi === bestHi && m[2 * r]! > m[2 * best]!)) best = r;
  }
  return best;
}

/**
 * Sort keys (mono_ns - that of row `min`) << bits | row as pairs of words (low first) into `k32`; false when a
 * difference does not fit in 64 - bits bits.
 */
function sortKeys(m: Uint32Array, n: number, min: number, bits: number, k32: Uint32Array): boolean {
  const minLo = m[2 * min]!;
  const minHi = m[2 * min + 1]!;
  const limit = 2 ** (32 - bits);
  for (let r = 0; r < n; r++) {
    const lo = m[2 * r]!;
    const dLo = (lo - minLo) >>> 0;
    const dHi = m[2 * r + 1]! - minHi - (lo < minLo ? 1 : 0);
    if (dHi >= limit) return false;
    k32[2 * r] = ((dLo << bits) | r) >>> 0;
    k32[2 * r + 1] = ((dHi << bits) | (dLo >>> (32 - bits))) >>> 0;
  }
  return true;
}

/** The row numbers in the low `bits` bits of sorted keys. */
function rowsOfKeys(k32: Uint32Array, n: number, bits: number, order: Uint32Array): Uint32Array {
  const mask = 2 ** bits - 1;
  for (let i = 0; i < n; i++) order[i] = k32[2 * i]! & mask;
  return order;
}

/** Where each PLAIN byte-array value (u32 length + bytes) starts, from the lengths; at[rows]: the end. */
function valueStarts(lengths: Uint32Array, rows: number, at: Uint32Array): Uint32Array {
  let p = 0;
  for (let r = 0; r < rows; r++) {
    at[r] = p;
    p += 4 + lengths[r]!;
  }
  at[rows] = p;
  return at;
}

/** Rows per ordered run, at least, for merging the runs (log2(runs) passes) rather than sorting the keys natively. */
const MERGE_MAX_RUN_FRACTION = 16;

/**
 * A sort order as runs of consecutive rows: run k puts rows run[2k+1] .. into output positions run[2k] ..
 * run[2k+2] (exclusive); run[2 * count] is the row count. Rows that arrived as ordered batches move a batch at a time.
 */
interface OrderRuns { run: Uint32Array; count: number }

function orderRuns(order: Uint32Array, mem: ScratchMemory): OrderRuns {
  const n = order.length;
  let count = 0;
  for (let i = 0; i < n; i++) if (i === 0 || order[i] !== order[i - 1]! + 1) count++;
  const run = mem.words('sorted.runs', 2 * count + 1);
  for (let i = 0, k = 0; i < n; i++) {
    if (i === 0 || order[i] !== order[i - 1]! + 1) {
      run[2 * k] = i;
      run[2 * k + 1] = order[i]!;
      k++;
    }
  }
  run[2 * count] = n;
  return { run, count };
}

/** A fixed-width column (`words` per row) rearranged in the order of `runs` into `out`. */
function gatherWords(col: Uint32Array, words: number, runs: OrderRuns, out: Uint32Array): void {
  const { run, count } = runs;
  for (let k = 0; k < count; k++) {
    const to = run[2 * k]! * words;
    const from = run[2 * k + 1]! * words;
    const len = (run[2 * k + 2]! - run[2 * k]!) * words;
    if (len > 16) out.set(col.subarray(from, from + len), to);
    else for (let i = 0; i < len; i++) out[to + i] = col[from + i]!;
  }
}

/** The 8 words of two 16-byte addresses equal those of `b` at word `at`? */
function sameWords(a: Uint32Array, b: Uint32Array, at: number): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[at + i]) return false;
  return true;
}

interface CommText { tid: number; w0: number; w1: number; w2: number; w3: number; text: Uint8Array; view: DataView }
interface AddrText { conn: number; connHi: number; raw: Uint32Array; local: Uint8Array; remote: Uint8Array; localView: DataView; remoteView: DataView }

/** A DataView of exactly `b`'s bytes (same indices). */
const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.length);

/** Word (u32) index of each field of `struct nt_event` (all 4-byte aligned; kind..syscall share one word). */
const W = Object.fromEntries(Object.entries(OFFSET).map(([k, v]) => [k, v >>> 2])) as { [K in keyof typeof OFFSET]: number };
for (const k of ['tsMonoNs', 'connId', 'pid', 'tid', 'fd', 'bytes', 'tcpSeq', 'netns', 'localPort', 'payloadLen', 'kind', 'localAddr', 'comm', 'gid', 'parentGid'] as const) {
  if (OFFSET[k] % 4 !== 0) throw new Error(`segmentBuilder: nt_event.${k} is not 4-byte aligned`);
}
if (OFFSET.remotePort !== OFFSET.localPort + 2 || OFFSET.direction !== OFFSET.kind + 1 || OFFSET.family !== OFFSET.kind + 2 || OFFSET.syscall !== OFFSET.kind + 3) {
  throw new Error('segmentBuilder: nt_event field order changed (ports, kind..syscall are read as one word)');
}
