import { type Work, type Carry } from './work.js';
import { findTriggers, findTriggersBytewise, triggerOrder, TRIGGERS, MAX_WORD, WORD_PAIRS, BufferScan } from './triggers.js';
import { applyTrigger } from './rules.js';
import { continueCarry } from './carry.js';
import { maskAmqpCredentials, maskMysqlHandshake, maskRedisInlineAuth } from './handshakes.js';
import { MysqlResultStream, mysqlCommand, COM_QUERY } from './mysqlResults.js';

/**
 * Redacts captured payloads in place, per connection and direction (a "stream"), so that secrets split across
 * syscalls are still found: the last TAIL bytes of a stream's previous payload (as captured, before redaction) are
 * context for the next one (a key in one write, its value in the next), a value still open at the end of a payload is carried into the next
 * (`Carry`), and MySQL result sets are followed packet by packet (capture/redact/mysqlResults.ts).
 * Two payloads are contiguous when the second starts at the TCP sequence number where the first ended and the
 * first was not cut at the snaplen; otherwise the stream's context is dropped (bytes are missing between them).
 *
 * Cost: a payload without any trigger word (capture/redact/triggers.ts) and no open value costs one pass over its
 * bytes and a map lookup; everything else happens only around trigger words.
 */

/** Context kept per stream: enough for a key, its quotes and separator, or a header name. */
export const TAIL = 64;
/** Connections remembered at most (a capture of many short connections must not grow without bound). */
const MAX_CONNECTIONS = 1 << 16;
/** Slots of the connection cache (2 ** SLOT_BITS). */
const SLOT_BITS = 12;
const SLOTS = 1 << SLOT_BITS;

/**
 * A connection's cache slot: the high bits of its key times a large odd constant (Fibonacci hashing). conn_id is a
 * socket's kernel address xor a salt, so its low bits follow the slab's object size: the 287 connections of the
 * bench's samples took 26 of 4096 slots by their low bits.
 */
export function slotOf(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> (32 - SLOT_BITS);
}
/** Bytes of each stream's tail memory: a payload's last bytes are appended after the tail (see `keepTail`). */
const TAIL_ROOM = 2 * TAIL;

/**
 * Per-stream integers, STRIDE of them per stream in `PayloadRedactor.ints`. A stream is one direction of a
 * connection: connection c owns streams 2c (send) and 2c + 1 (recv). Flat arrays rather than an object (and a
 * tail array) per stream: the state of every stream is a few loads from memory that stays cached, not a chain of
 * objects (decode-redact profile: the stream object and its tail were a cache miss per event each).
 */
const NEXT_SEQ = 0; // TCP sequence number the next payload must start at to be contiguous (u32 as int32)
const FLAGS = 1;
const TAIL_AT = 2; // the tail is tails[TAIL_ROOM * stream + tailAt, + tailLen)
const TAIL_LEN = 3;
const STRIDE = 4;
/** FLAGS: a payload was seen (NEXT_SEQ is set). */
const SEQ_KNOWN = 1;
/** FLAGS: the tail holds a trigger word: its value may start in the next payload, so the rule runs again there. */
const TAIL_TRIGGERS = 2;

export class PayloadRedactor {
  /** conn key (low 32 bits of conn_id) -> connection index. */
  private readonly connections = new Map<number, number>();
  /**
   * A direct-mapped cache in front of `connections` (slotOf): two array loads and a compare per payload instead of
   * a Map lookup. `slotConn` -1: empty.
   */
  private readonly slotKeys = new Int32Array(SLOTS);
  private readonly slotConn = new Int32Array(SLOTS).fill(-1);
  /** Connection indices in use at most so far, and those freed by closeConnection (reused first). */
  private used = 0;
  private free: number[] = [];
  private capacity = 0;
  private ints = new Int32Array(0);
  /** The tails, TAIL_ROOM bytes per stream, and a DataView of them (copies four bytes at a time). */
  private tails = new Uint8Array(0);
  private tailsView = new DataView(this.tails.buffer);
  private carries: (Carry | null)[] = [];
  private mysql: (MysqlResultStream | null)[] = [];
  private scratch = new Uint8Array(TAIL + 8192);
  private scratchView = new DataView(this.scratch.buffer);
  /** (position, trigger id) lists; `found` grows (with `merged`) when a payload holds more words than it fits. */
  private found = new Int32Array(2048);
  private readonly foundInContext = new Int32Array(2048);
  private merged = new Int32Array(2048 + 2048);
  private readonly window = new Uint8Array(2 * MAX_WORD);
  /** The buffer payloads come from and a DataView of it (same indices), made once per buffer. */
  private srcBuf: Uint8Array | null = null;
  private srcView = new DataView(new ArrayBuffer(0));
  /** The trigger words of redactStream's payloads, one SIMD pass per buffer they come from (null: no SIMD here). */
  private readonly bufferScan = BufferScan.create();
  /** The Work of redactStream's rules, reused (set by `work`): an object per payload was most of its garbage. */
  private readonly reused: Work = { b: new Uint8Array(0), base: 0, end: 0, complete: false, changed: 0, carry: null };

  constructor() {
    this.grow(64);
  }

  /** Redacts one payload on its own (no stream context). Returns how many values it replaced. */
  redact(payload: Uint8Array): number {
    const w: Work = { b: payload, base: 0, end: payload.length, complete: false, changed: 0, carry: null };
    let values = handshakes(w);
    const n = this.findAll(payload, 0, payload.length, 0);
    for (let k = 0; k < n; k++) values += rule(w, this.found[2 * k]!, TRIGGERS[this.found[2 * k + 1]!]!);
    return values;
  }

  /**
   * Redacts the payload `buf[start, start + len)` of a data event: connection `conn` (low 32 bits of conn_id),
   * `direction` (1 send, 2 recv), `bytes` moved by the syscall (len < bytes: cut at the snaplen), TCP sequence
   * number `seq` of its first byte. Returns how many bytes it changed.
   * Payloads of one `buf` must come in increasing order, and bytes after a payload must not change before it is
   * passed (BufferScan scans ahead; a payload at or before the previous one is scanned afresh).
   */
  redactStream(buf: Uint8Array, start: number, len: number, conn: number, direction: number, bytes: number, seq: number): number {
    const c = this.connection(conn);
    const k = direction === 1 ? 2 * c : 2 * c + 1;
    const ints = this.ints;
    const o = STRIDE * k;
    let flags = ints[o + FLAGS]!;
    if ((flags & SEQ_KNOWN) !== 0 && ints[o + NEXT_SEQ] !== (seq | 0)) {
      // bytes missing between the two payloads (loss, a syscall not seen): no context joins them
      ints[o + TAIL_LEN] = 0;
      flags &= ~TAIL_TRIGGERS;
      this.carries[k] = null;
      this.mysql[k]?.lost();
    }
    ints[o + FLAGS] = flags | SEQ_KNOWN;
    ints[o + NEXT_SEQ] = (seq + bytes) | 0;
    const end = start + len;
    const complete = len === bytes;
    let values = 0;

    if (len >= 5 && buf[start + 3] === 0) {
      const cmd = mysqlCommand(buf, start, end, bytes);
      if (cmd >= 0) {
        const other = k ^ 1;
        const m = (this.mysql[other] ??= new MysqlResultStream());
        if (cmd === COM_QUERY) m.startResponse();
        else m.lost();
      }
    }

    let n = this.bufferScan === null ? -1 : this.bufferScan.find(buf, start, end, this.found);
    if (n < 0) n = this.findAll(buf, start, end, start);
    const found = this.found;
    const carry = this.carries[k]!;
    let names = false;
    if (n === 0 && carry === null && (flags & TAIL_TRIGGERS) === 0 && !this.spansBoundary(k, buf, start, end)) {
      if (mayBeHandshake(buf, start, end)) values = handshakes(this.work(buf, start, end, complete));
      this.keepTail(k, buf, start, end, complete, false);
    } else {
      // Slow path: context + payload in one buffer, every rule around every trigger word (those in the context
      // too: their values may continue here), then the payload copied back.
      const base = ints[o + TAIL_LEN]!;
      if (this.scratch.length < base + len) {
        this.scratch = new Uint8Array(2 * (base + len));
        this.scratchView = new DataView(this.scratch.buffer);
      }
      const s = this.scratch;
      const tails = this.tails;
      const tailStart = TAIL_ROOM * k + ints[o + TAIL_AT]!;
      // <= TAIL bytes: four at a time through DataViews, no subarray to allocate
      const sv = this.scratchView;
      const tv = this.tailsView;
      let i = 0;
      for (; i + 4 <= base; i += 4) sv.setUint32(i, tv.getUint32(tailStart + i, true), true);
      for (; i < base; i++) s[i] = tails[tailStart + i]!;
      s.set(buf.subarray(start, end), base);
      const w = this.work(s, base, base + len, complete);
      if (carry !== null) {
        continueCarry(w, carry);
        if (w.changed > 0) values++;
      }
      values += handshakes(w);
      // The trigger words of context + payload: those found in the payload above (shifted), merged with those
      // starting in the context (only its end and the first bytes of the payload need scanning again), in the
      // order one scan of the whole would give. The payload is scanned once, not twice. (Unless a carried value or a
      // handshake was masked just now: masked bytes may have hidden a word, so the scan must see them.)
      let list = found;
      if (w.changed === 0) {
        const ctx = this.foundInContext;
        const m = findTriggers(s, 0, Math.min(base + MAX_WORD - 1, base + len), 0, ctx);
        n = mergeTriggers(ctx, m, base, found, n, base - start, this.merged);
        list = this.merged;
      } else {
        n = this.findAll(s, 0, base + len, 0);
        list = this.found;
      }
      let lastTrigger = -1;
      for (let x = 0; x < n; x++) {
        const at = list[2 * x]!;
        const t = TRIGGERS[list[2 * x + 1]!]!;
        values += rule(w, at, t);
        if (t.kind === 'name' && at + t.word.length > base) names = true;
        lastTrigger = at;
      }
      // The tail keeps the bytes as they were: rules that run again over it must see the same structure
      // (a masked backslash would end a string early).
      this.keepTail(k, buf, start, end, complete, lastTrigger >= base + len - Math.min(TAIL, base + len));
      if (w.changed > 0) buf.set(s.subarray(base, base + len), start);
      this.carries[k] = w.carry;
    }

    const m = this.mysql[k];
    if (m != null && m.active) {
      const w = this.work(buf, start, end, complete);
      m.feed(w, bytes - len, names);
      if (w.changed > 0) values++;
    }
    return values;
  }

  /**
   * Every trigger word of `b[from, end)` (findTriggers) into `this.found`, grown until they all fit: a payload
   * of up to 64 KiB may hold thousands (a user list with a `password_expires_at` per user), and a secret after
   * the last one listed would not be masked.
   */
  private findAll(b: Uint8Array, from: number, end: number, firstEnd: number): number {
    let n = findTriggers(b, from, end, firstEnd, this.found);
    while (n === this.found.length >> 1) {
      this.found = new Int32Array(2 * this.found.length);
      this.merged = new Int32Array(this.found.length + this.foundInContext.length);
      n = findTriggers(b, from, end, firstEnd, this.found);
    }
    return n;
  }

  /** The reused Work, set for `b[base, end)` (no rule keeps a reference to it). */
  private work(b: Uint8Array, base: number, end: number, complete: boolean): Work {
    const w = this.reused;
    w.b = b;
    w.base = base;
    w.end = end;
    w.complete = complete;
    w.changed = 0;
    w.carry = null;
    return w;
  }

  /** The connection closed: forget both directions. */
  closeConnection(conn: number): void {
    const key = conn | 0;
    const c = this.connections.get(key);
    if (c === undefined) return;
    this.connections.delete(key);
    const slot = slotOf(key);
    if (this.slotKeys[slot] === key) this.slotConn[slot] = -1;
    this.free.push(c);
    for (const k of [2 * c, 2 * c + 1]) {
      this.carries[k] = null; // nothing kept alive by a closed connection
      this.mysql[k] = null;
    }
  }

  /** The index of connection `conn`, both of its streams fresh if it is new. */
  private connection(conn: number): number {
    const key = conn | 0;
    const slot = slotOf(key);
    const cached = this.slotConn[slot]!;
    if (cached >= 0 && this.slotKeys[slot] === key) return cached;
    let c = this.connections.get(key);
    if (c === undefined) {
      if (this.connections.size >= MAX_CONNECTIONS) {
        this.connections.clear();
        this.slotConn.fill(-1);
        this.free = [];
        this.used = 0;
      }
      c = this.free.length > 0 ? this.free.pop()! : this.used++;
      if (c >= this.capacity) this.grow(2 * this.capacity);
      for (let k = 2 * c; k < 2 * c + 2; k++) {
        this.ints.fill(0, STRIDE * k, STRIDE * k + STRIDE);
        this.carries[k] = null;
        this.mysql[k] = null;
      }
      this.connections.set(key, c);
    }
    this.slotKeys[slot] = key;
    this.slotConn[slot] = c;
    return c;
  }

  /** Room for `capacity` connections (the state of those in use kept). */
  private grow(capacity: number): void {
    const ints = new Int32Array(2 * STRIDE * capacity);
    ints.set(this.ints);
    const tails = new Uint8Array(2 * TAIL_ROOM * capacity);
    tails.set(this.tails);
    this.ints = ints;
    this.tails = tails;
    this.tailsView = new DataView(tails.buffer);
    for (let k = 2 * this.capacity; k < 2 * capacity; k++) {
      this.carries.push(null);
      this.mysql.push(null);
    }
    this.capacity = capacity;
  }

  /** Does a trigger word start in the tail of stream `k` and end in this payload? */
  private spansBoundary(k: number, buf: Uint8Array, start: number, end: number): boolean {
    const o = STRIDE * k;
    const tailLen = this.ints[o + TAIL_LEN]!;
    if (tailLen === 0 || end === start) return false;
    const tails = this.tails;
    const tailEnd = TAIL_ROOM * k + this.ints[o + TAIL_AT]! + tailLen;
    if (WORD_PAIRS[(tails[tailEnd - 1]! << 8) | buf[start]!] !== 1) return false;
    const fromTail = Math.min(tailLen, MAX_WORD - 1);
    const fromPayload = Math.min(end - start, MAX_WORD - 1);
    const win = this.window;
    for (let i = 0; i < fromTail; i++) win[i] = tails[tailEnd - fromTail + i]!;
    for (let i = 0; i < fromPayload; i++) win[fromTail + i] = buf[start + i]!;
    return findTriggersBytewise(win, 0, fromTail + fromPayload, fromTail, this.found) > 0; // a few bytes: no aligned scan
  }

  /**
   * The new tail of stream `k`: the last TAIL bytes of the payload `b[from, end)`, preceded by what fits of the
   * old tail. Nothing is kept after a payload cut at the snaplen. `triggers`: the new tail holds a trigger word.
   */
  private keepTail(k: number, b: Uint8Array, from: number, end: number, complete: boolean, triggers: boolean): void {
    const ints = this.ints;
    const o = STRIDE * k;
    if (!complete) {
      ints[o + TAIL_LEN] = 0;
      ints[o + FLAGS] &= ~TAIL_TRIGGERS;
      return;
    }
    // The tail is tails[room + at, + len) in TAIL_ROOM bytes: a payload's last bytes are appended after it (moved
    // to the front only when they do not fit), so a small payload costs a copy of its own bytes, not a shift of
    // the whole tail. <= TAIL bytes copied four at a time through DataViews: copyWithin/set/subarray are native
    // calls (and an allocation) per payload, and cost more than this below ~128 bytes, as do byte loops.
    const t = this.tails;
    const tv = this.tailsView;
    const room = TAIL_ROOM * k;
    const tailLen = ints[o + TAIL_LEN]!;
    const take = Math.min(end - from, TAIL);
    const keep = Math.min(tailLen, TAIL - take);
    let at = ints[o + TAIL_AT]! + tailLen - keep;
    if (at + keep + take > TAIL_ROOM) {
      // to the front (no overlap: at >= TAIL >= keep here)
      let i = 0;
      for (; i + 4 <= keep; i += 4) tv.setUint32(room + i, tv.getUint32(room + at + i, true), true);
      for (; i < keep; i++) t[room + i] = t[room + at + i]!;
      at = 0;
    }
    const to = room + at + keep;
    const src = end - take;
    if (b !== this.srcBuf) {
      this.srcBuf = b;
      this.srcView = new DataView(b.buffer, b.byteOffset, b.length);
    }
    const sv = this.srcView;
    let i = 0;
    for (; i + 4 <= take; i += 4) tv.setUint32(to + i, sv.getUint32(src + i, true), true);
    for (; i < take; i++) t[to + i] = b[src + i]!;
    ints[o + TAIL_AT] = at;
    ints[o + TAIL_LEN] = keep + take;
    ints[o + FLAGS] = triggers ? ints[o + FLAGS]! | TAIL_TRIGGERS : ints[o + FLAGS]! & ~TAIL_TRIGGERS;
  }
}

/**
 * Merges (position, trigger id) lists: `a` (positions in the merged buffer; only words starting before `base` are
 * taken) and `b` (positions + `shift`), both in findTriggers' order, into `out` in that order; at most
 * `out.length / 2` entries, as findTriggers stops. Returns how many.
 */
function mergeTriggers(a: Int32Array, na: number, base: number, b: Int32Array, nb: number, shift: number, out: Int32Array): number {
  const max = out.length >> 1;
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < na && a[2 * i]! >= base) i++;
  while (n < max && (i < na || j < nb)) {
    const takeA = i < na && (j >= nb || triggerOrder(a[2 * i]!, a[2 * i + 1]!) < triggerOrder(b[2 * j]! + shift, b[2 * j + 1]!));
    if (takeA) {
      out[2 * n] = a[2 * i]!;
      out[2 * n + 1] = a[2 * i + 1]!;
      i++;
      while (i < na && a[2 * i]! >= base) i++;
    } else {
      out[2 * n] = b[2 * j]! + shift;
      out[2 * n + 1] = b[2 * j + 1]!;
      j++;
    }
    n++;
  }
  return n;
}

const HANDSHAKES = [maskAmqpCredentials, maskMysqlHandshake, maskRedisInlineAuth];

/**
 * Could the payload be one of the handshakes: an inline Redis AUTH, an AMQP connection method frame on channel 0, a
 * MySQL packet with sequence id 1 and a zero filler (each a condition its function checks first: where this says
 * no, all three would change nothing). Spares the three calls for every other payload (MySQL responses start with
 * sequence id 1 too).
 */
function mayBeHandshake(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n < 6) return false;
  const c = b[s]!;
  if (c === 0x41 || c === 0x61) return true;
  if (n >= 15 && c === 1 && b[s + 1] === 0 && b[s + 2] === 0 && b[s + 8] === 10) return true;
  return n >= 37 && b[s + 3] === 1 && b[s + 13] === 0;
}

/** Applies one trigger's rule; 1 if it changed the payload. */
function rule(w: Work, at: number, t: (typeof TRIGGERS)[number]): number {
  const before = w.changed;
  applyTrigger(w, at, t);
  return w.changed > before ? 1 : 0;
}

/** Credentials in protocol handshakes, checked on every payload; how many were replaced. */
function handshakes(w: Work): number {
  let values = 0;
  for (const mask of HANDSHAKES) {
    const before = w.changed;
    mask(w);
    if (w.changed > before) values++;
  }
  return values;
}
