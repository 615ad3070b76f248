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
/** Slots of the connection cache (a power of two). */
const SLOTS = 1024;

function newStream(): Stream {
  const tail = new Uint8Array(2 * TAIL);
  return { nextSeq: -1, tail, tailView: new DataView(tail.buffer), tailAt: 0, tailLen: 0, tailTriggers: false, carry: null, mysql: null };
}

/** Both directions of one connection (keyed by the low 32 bits of conn_id: a small integer, a fast map key). */
interface Connection {
  send: Stream | null;
  recv: Stream | null;
}

interface Stream {
  /** TCP sequence number the next payload must start at to be contiguous (u32); -1: none yet. */
  nextSeq: number;
  /**
   * The tail is `tail[tailAt, tailAt + tailLen)` in a buffer of 2 * TAIL bytes: a payload's last bytes are appended
   * after it (moved to the front only when they do not fit), so a small payload costs a copy of its own bytes, not
   * a shift of the whole tail.
   */
  tail: Uint8Array;
  /** A DataView of `tail`: its bytes are copied four at a time. */
  tailView: DataView;
  tailAt: number;
  tailLen: number;
  /** The tail holds a trigger word: its value may start in the next payload, so the rule runs again there. */
  tailTriggers: boolean;
  carry: Carry | null;
  mysql: MysqlResultStream | null;
}

export class PayloadRedactor {
  private readonly connections = new Map<number, Connection>();
  /**
   * A direct-mapped cache in front of `connections` (slot: the key's low bits, random: conn_id is a socket address
   * xor a salt): an array load and a compare per payload instead of a Map lookup.
   */
  private readonly slotKeys = new Int32Array(SLOTS);
  private readonly slots: (Connection | null)[] = new Array<Connection | null>(SLOTS).fill(null);
  private scratch = new Uint8Array(TAIL + 8192);
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
    const st = this.stream(conn, direction);
    if (st.nextSeq !== seq && st.nextSeq !== -1) {
      // bytes missing between the two payloads (loss, a syscall not seen): no context joins them
      st.tailLen = 0;
      st.tailTriggers = false;
      st.carry = null;
      st.mysql?.lost();
    }
    st.nextSeq = (seq + bytes) >>> 0;
    const end = start + len;
    const complete = len === bytes;
    let values = 0;

    if (len >= 5 && buf[start + 3] === 0) {
      const cmd = mysqlCommand(buf, start, end, bytes);
      if (cmd >= 0) {
        const other = this.stream(conn, 3 - direction);
        other.mysql ??= new MysqlResultStream();
        if (cmd === COM_QUERY) other.mysql.startResponse();
        else other.mysql.lost();
      }
    }

    let n = this.bufferScan === null ? -1 : this.bufferScan.find(buf, start, end, this.found);
    if (n < 0) n = this.findAll(buf, start, end, start);
    const found = this.found;
    let names = false;
    if (n === 0 && st.carry === null && !st.tailTriggers && !this.spansBoundary(st, buf, start, end)) {
      if (mayBeHandshake(buf, start, end)) values = handshakes({ b: buf, base: start, end, complete, changed: 0, carry: null });
      this.keepTail(st, buf, start, end, complete, false, true);
    } else {
      // Slow path: context + payload in one buffer, every rule around every trigger word (those in the context
      // too: their values may continue here), then the payload copied back.
      const base = st.tailLen;
      if (this.scratch.length < base + len) this.scratch = new Uint8Array(2 * (base + len));
      const s = this.scratch;
      const tail = st.tail;
      const tailAt = st.tailAt;
      for (let i = 0; i < base; i++) s[i] = tail[tailAt + i]!; // <= TAIL bytes: a loop, no subarray to allocate
      s.set(buf.subarray(start, end), base);
      const w: Work = { b: s, base, end: base + len, complete, changed: 0, carry: null };
      if (st.carry) {
        continueCarry(w, st.carry);
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
      for (let k = 0; k < n; k++) {
        const at = list[2 * k]!;
        const t = TRIGGERS[list[2 * k + 1]!]!;
        values += rule(w, at, t);
        if (t.kind === 'name' && at + t.word.length > base) names = true;
        lastTrigger = at;
      }
      // The tail keeps the bytes as they were: rules that run again over it must see the same structure
      // (a masked backslash would end a string early).
      this.keepTail(st, buf, start, end, complete, lastTrigger >= base + len - Math.min(TAIL, base + len), true);
      if (w.changed > 0) buf.set(s.subarray(base, base + len), start);
      st.carry = w.carry;
    }

    if (st.mysql?.active) {
      const w: Work = { b: buf, base: start, end, complete, changed: 0, carry: null };
      st.mysql.feed(w, bytes - len, names);
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

  /** The connection closed: forget both directions. */
  closeConnection(conn: number): void {
    const key = conn | 0;
    this.connections.delete(key);
    if (this.slotKeys[key & (SLOTS - 1)] === key) this.slots[key & (SLOTS - 1)] = null;
  }

  private stream(conn: number, direction: number): Stream {
    const key = conn | 0;
    const slot = key & (SLOTS - 1);
    let c: Connection | null = this.slots[slot]!;
    if (c === null || this.slotKeys[slot] !== key) {
      c = this.connections.get(key) ?? null;
      if (c === null) {
        if (this.connections.size >= MAX_CONNECTIONS) {
          this.connections.clear();
          this.slots.fill(null);
        }
        c = { send: null, recv: null };
        this.connections.set(key, c);
      }
      this.slotKeys[slot] = key;
      this.slots[slot] = c;
    }
    if (direction === 1) return (c.send ??= newStream());
    return (c.recv ??= newStream());
  }

  /** Does a trigger word start in the stream's tail and end in this payload? */
  private spansBoundary(st: Stream, buf: Uint8Array, start: number, end: number): boolean {
    const tailEnd = st.tailAt + st.tailLen;
    if (st.tailLen === 0 || end === start || WORD_PAIRS[(st.tail[tailEnd - 1]! << 8) | buf[start]!] !== 1) return false;
    const fromTail = Math.min(st.tailLen, MAX_WORD - 1);
    const fromPayload = Math.min(end - start, MAX_WORD - 1);
    const win = this.window;
    for (let i = 0; i < fromTail; i++) win[i] = st.tail[tailEnd - fromTail + i]!;
    for (let i = 0; i < fromPayload; i++) win[fromTail + i] = buf[start + i]!;
    return findTriggersBytewise(win, 0, fromTail + fromPayload, fromTail, this.found) > 0; // a few bytes: no aligned scan
  }

  /**
   * The stream's new tail: the last TAIL bytes of `b[from, end)`, preceded by what fits of the old tail when
   * `b[from, end)` is the payload alone (fast path). Nothing is kept after a payload cut at the snaplen.
   */
  private keepTail(st: Stream, b: Uint8Array, from: number, end: number, complete: boolean, triggers: boolean, withOldTail: boolean): void {
    if (!complete) {
      st.tailLen = 0;
      st.tailTriggers = false;
      return;
    }
    const t = st.tail;
    const take = Math.min(end - from, TAIL);
    const keep = withOldTail ? Math.min(st.tailLen, TAIL - take) : 0;
    // <= TAIL bytes copied four at a time through DataViews: copyWithin/set/subarray are native calls (and an
    // allocation) per payload, and cost more than this below ~128 bytes, as do byte loops
    const tv = st.tailView;
    let at = st.tailAt + st.tailLen - keep;
    if (at + keep + take > t.length) {
      // to the front (no overlap: at >= TAIL >= keep here)
      let i = 0;
      for (; i + 4 <= keep; i += 4) tv.setUint32(i, tv.getUint32(at + i, true), true);
      for (; i < keep; i++) t[i] = t[at + i]!;
      at = 0;
    }
    const to = at + keep;
    const src = end - take;
    if (b !== this.srcBuf) {
      this.srcBuf = b;
      this.srcView = new DataView(b.buffer, b.byteOffset, b.length);
    }
    const sv = this.srcView;
    let i = 0;
    for (; i + 4 <= take; i += 4) tv.setUint32(to + i, sv.getUint32(src + i, true), true);
    for (; i < take; i++) t[to + i] = b[src + i]!;
    st.tailAt = at;
    st.tailLen = keep + take;
    st.tailTriggers = triggers;
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
 * Could the payload be one of the handshakes (first bytes only): an AMQP method frame on channel 0, a MySQL packet
 * with sequence id 1, an inline Redis AUTH. Spares building a Work for every other payload.
 */
function mayBeHandshake(b: Uint8Array, s: number, e: number): boolean {
  if (e - s < 6) return false;
  const c = b[s]!;
  return (c === 1 && b[s + 1] === 0 && b[s + 2] === 0) || b[s + 3] === 1 || c === 0x41 || c === 0x61;
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
