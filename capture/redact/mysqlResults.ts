import { fill, type Work } from './work.js';
import { isSensitiveName } from './names.js';

/**
 * MySQL text-protocol result sets whose column definitions name a sensitive column (password_hash, secret,
 * token, ...): that column's value is masked in every row, keeping the length-encoded framing. State is kept per
 * connection and direction because a result set spans syscalls; it starts when a COM_QUERY is seen going the
 * other way on the same socket, and follows packet lengths through bytes the snaplen cut off (`unseen`). If a
 * packet header falls into unseen bytes the walker gives up until the next query; so does a result set without
 * sensitive columns (nothing to do). Not covered: the binary protocol of prepared statements (COM_STMT_EXECUTE),
 * compression, TLS. Protocol: https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response.html
 */

type Phase =
  | 'idle' // nothing to do until the next query
  | 'first' // the next packet starts a response: OK, ERR or a column count
  | 'coldefs' // column definitions
  | 'rows'; // rows (the first packet may be the EOF that ends the column definitions)

export const COM_QUERY = 0x03;

/**
 * If `p[s, e)` starts a client command packet (sequence id 0) filling a syscall of `bytes` bytes, its command byte
 * (COM_QUERY = 3, COM_PING = 14, ...); otherwise -1.
 */
export function mysqlCommand(p: Uint8Array, s: number, e: number, bytes: number): number {
  if (e - s < 5 || p[s + 3] !== 0) return -1;
  const len = p[s]! | (p[s + 1]! << 8) | (p[s + 2]! << 16);
  const cmd = p[s + 4]!;
  if (len < 1 || len + 4 > bytes || cmd > 0x20) return -1;
  if (cmd === COM_QUERY) {
    // SQL text follows
    const c = e - s > 5 ? p[s + 5]! : 0x20;
    return (c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x09 || c === 0x0d ? cmd : -1;
  }
  return len + 4 === bytes ? cmd : -1;
}

const ACC_MAX = 2048;

export class MysqlResultStream {
  private phase: Phase = 'idle';
  private columns = 0;
  /** Per column definition read so far (`defs` of them): 1 if sensitive. Kept across result sets (no array per query). */
  private sensitive = new Uint8Array(64);
  private defs = 0;
  private anySensitive = false;
  // framing: header bytes read so far (0..4), then the body
  private headerHave = 0;
  private header = new Uint8Array(4);
  private bodyLen = 0;
  private bodyDone = 0;
  // first and column-definition packets: the body gathered when it crosses payloads
  private acc = new Uint8Array(ACC_MAX);
  private accLen = 0;
  private accBroken = false;
  // row packets
  private field = 0;
  private lenNeed = -1; // -1: the next byte is a field's length marker; > 0: length bytes still to read
  private lenShift = 0;
  private fieldLeft = 0;
  private rowLost = false;
  private terminal = false;
  /** A row (or the EOF ending the column definitions) was seen in this result set. */
  private sawRows = false;

  get active(): boolean {
    return this.phase !== 'idle';
  }

  /** A query went out: the next bytes in this direction are its response. */
  startResponse(): void {
    this.phase = 'first';
    this.headerHave = 0;
    this.bodyLen = 0;
    this.bodyDone = 0;
    this.columns = 0;
    this.defs = 0;
    this.anySensitive = false;
    this.sawRows = false;
  }

  /** The stream skipped bytes we cannot account for (loss, reordering): give up until the next query. */
  lost(): void {
    this.phase = 'idle';
  }

  /**
   * Walks `w.b[w.base, w.end)` (payload bytes seen), then `unseen` more bytes of the stream the capture did not
   * keep. Masks sensitive fields in place. `names` says whether the payload holds a sensitive word at all: if not,
   * its column definitions are known not to be sensitive without reading them.
   */
  feed(w: Work, unseen: number, names: boolean): void {
    const b = w.b;
    let i = w.base;
    const e = w.end;
    while (i < e && this.phase !== 'idle') {
      if (this.headerHave < 4) {
        if (this.headerHave === 0 && i + 4 <= e) {
          if (!names && this.phase === 'coldefs') {
            i = this.skipColumnDefinitions(b, i, e);
            if (i + 4 > e || this.phase !== 'coldefs') continue;
          }
          // the whole header here (the usual case)
          const h = this.header;
          h[0] = b[i]!;
          h[1] = b[i + 1]!;
          h[2] = b[i + 2]!;
          h[3] = b[i + 3]!;
          i += 4;
          this.headerHave = 4;
          this.startPacket();
          continue;
        }
        this.header[this.headerHave++] = b[i++]!;
        if (this.headerHave === 4) this.startPacket();
        continue;
      }
      const n = Math.min(this.bodyLen - this.bodyDone, e - i);
      this.body(w, i, n, names);
      i += n;
      this.bodyDone += n;
      if (this.bodyDone === this.bodyLen) this.endPacket();
    }
    while (unseen > 0 && this.phase !== 'idle') {
      if (this.headerHave < 4) {
        this.phase = 'idle';
        return;
      }
      const n = Math.min(this.bodyLen - this.bodyDone, unseen);
      this.skip(n);
      unseen -= n;
      this.bodyDone += n;
      if (this.bodyDone === this.bodyLen) this.endPacket();
    }
  }

  /**
   * Column definitions wholly inside `b[i, e)` of a payload without any sensitive word, from a packet start: counted
   * (not sensitive) without reading them, as the packet by packet walk would (a result set of many columns is a
   * packet per column). Returns where the first packet it leaves to that walk starts.
   */
  private skipColumnDefinitions(b: Uint8Array, i: number, e: number): number {
    while (i + 4 <= e) {
      const len = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
      if (len === 0 || len === 0xffffff || i + 4 + len > e) break;
      i += 4 + len;
      this.addDefinition(false);
      if (this.defs === this.columns) {
        this.phase = this.anySensitive ? 'rows' : 'idle';
        break;
      }
    }
    return i;
  }

  private startPacket(): void {
    this.bodyLen = this.header[0]! | (this.header[1]! << 8) | (this.header[2]! << 16);
    this.bodyDone = 0;
    this.accLen = 0;
    this.accBroken = false;
    this.field = 0;
    this.lenNeed = -1;
    this.fieldLeft = 0;
    this.rowLost = false;
    this.terminal = false;
    if (this.bodyLen === 0xffffff) this.phase = 'idle'; // a packet split in 16 MiB pieces: not followed
    else if (this.bodyLen === 0) this.endPacket();
  }

  private body(w: Work, at: number, n: number, names: boolean): void {
    if (this.phase === 'first' || this.phase === 'coldefs') {
      // Whole packet in this payload: read it in place; otherwise gather it.
      if (this.bodyDone === 0 && n === this.bodyLen) {
        if (this.phase === 'first' || names) this.packetBody(w.b, at, at + n);
        else this.columnDefinition(null, 0, 0);
        this.accBroken = true; // handled: endPacket only advances
        this.accLen = -1;
        return;
      }
      if (this.accLen + n > ACC_MAX) this.accBroken = true;
      else this.acc.set(w.b.subarray(at, at + n), this.accLen);
      this.accLen += n;
      return;
    }
    this.rowBytes(w, at, n);
  }

  private skip(n: number): void {
    if (this.phase === 'first' || this.phase === 'coldefs') {
      this.accBroken = true;
      return;
    }
    if (this.rowLost) return;
    if (this.bodyDone === 0) {
      this.rowLost = true; // the byte telling EOF from a row is unseen: follow lengths only
      return;
    }
    if (this.lenNeed === 0 && this.fieldLeft >= n) {
      this.fieldLeft -= n;
      if (this.fieldLeft === 0) {
        this.field++;
        this.lenNeed = -1;
      }
      return;
    }
    this.rowLost = true;
  }

  private endPacket(): void {
    if ((this.phase === 'first' || this.phase === 'coldefs') && this.accLen >= 0) {
      if (this.accBroken) {
        if (this.phase === 'first') this.phase = 'idle';
        else this.columnDefinition(null, 0, 0);
      } else {
        this.packetBody(this.acc, 0, this.accLen);
      }
    } else if (this.phase === 'rows' && this.terminal) {
      this.phase = 'first'; // more results may follow (SERVER_MORE_RESULTS_EXISTS); else the next query resets
    }
    this.headerHave = 0;
  }

  /** A complete body of a 'first' or column-definition packet. */
  private packetBody(p: Uint8Array, s: number, e: number): void {
    if (this.phase === 'first') {
      const c = p[s]!;
      if (c === 0x00 || c === 0xff || c === 0xfb || (c === 0xfe && e - s < 9) || e === s) {
        this.phase = 'first'; // OK / ERR / EOF / LOCAL INFILE: no result set
        return;
      }
      const count = lenenc(p, s, e);
      if (count <= 0 || count > 4096) {
        this.phase = 'idle';
        return;
      }
      this.columns = count;
      this.defs = 0;
      this.anySensitive = false;
      this.sawRows = false;
      this.phase = 'coldefs';
      return;
    }
    this.columnDefinition(p, s, e);
  }

  /** ColumnDefinition41: catalog, schema, table, org_table, name, org_name (length-encoded strings), ... */
  private columnDefinition(p: Uint8Array | null, s: number, e: number): void {
    let sensitive = false;
    if (p) {
      let at = s;
      for (let k = 0; k < 6 && at < e; k++) {
        const len = lenenc(p, at, e);
        const start = at + lenencSize;
        if (k >= 4 && len > 0 && isSensitiveName(p, start, Math.min(e, start + len))) sensitive = true;
        at = start + Math.max(0, len);
      }
    }
    this.addDefinition(sensitive);
    if (sensitive) this.anySensitive = true;
    if (this.defs === this.columns) this.phase = this.anySensitive ? 'rows' : 'idle';
  }

  private addDefinition(sensitive: boolean): void {
    if (this.defs === this.sensitive.length) {
      const next = new Uint8Array(2 * this.sensitive.length);
      next.set(this.sensitive);
      this.sensitive = next;
    }
    this.sensitive[this.defs++] = sensitive ? 1 : 0;
  }

  /** Bytes of a row packet (or of the EOF / OK / ERR that ends the result set). */
  private rowBytes(w: Work, at: number, n: number): void {
    const b = w.b;
    let i = at;
    const e = at + n;
    if (this.bodyDone === 0 && n > 0) {
      const c = b[i]!;
      if ((c === 0xfe && this.bodyLen < 0xffffff) || c === 0xff) {
        // EOF after the column definitions is followed by rows; a later EOF/OK, or ERR, ends the result set
        if (c === 0xfe && this.bodyLen < 9 && !this.sawRows) {
          this.sawRows = true;
          this.rowLost = true;
          return;
        }
        this.terminal = true;
        this.rowLost = true;
        return;
      }
      this.sawRows = true;
    }
    if (this.rowLost) return;
    while (i < e) {
      if (this.lenNeed === -1) {
        const c = b[i++]!;
        if (c < 0xfb) this.fieldLeft = c;
        else if (c === 0xfb) {
          this.field++; // NULL
          continue;
        } else if (c === 0xfc || c === 0xfd || c === 0xfe) {
          this.lenNeed = c === 0xfc ? 2 : c === 0xfd ? 3 : 8;
          this.fieldLeft = 0;
          this.lenShift = 0;
          continue;
        } else {
          this.rowLost = true;
          return;
        }
        if (this.fieldLeft === 0) this.field++;
        else this.lenNeed = 0;
        continue;
      }
      if (this.lenNeed > 0) {
        if (this.lenShift < 32) this.fieldLeft += b[i]! * 2 ** this.lenShift;
        this.lenShift += 8;
        i++;
        if (--this.lenNeed === 0 && this.fieldLeft === 0) {
          this.field++;
          this.lenNeed = -1;
        }
        continue;
      }
      // lenNeed === 0: field data
      const take = Math.min(this.fieldLeft, e - i);
      if (this.field < this.defs && this.sensitive[this.field] === 1) fill(w, i, i + take);
      i += take;
      this.fieldLeft -= take;
      if (this.fieldLeft === 0) {
        this.field++;
        this.lenNeed = -1;
      }
    }
  }
}

/** Bytes the last lenenc() took (a module variable rather than a [value, size] array per call: six per column). */
let lenencSize = 0;

/** A length-encoded integer at `at` (-1 if it does not fit in `[at, e)`); the bytes it took in `lenencSize`. */
function lenenc(p: Uint8Array, at: number, e: number): number {
  if (at >= e) {
    lenencSize = 0;
    return -1;
  }
  const c = p[at]!;
  lenencSize = 1;
  if (c < 0xfb) return c;
  const size = c === 0xfc ? 2 : c === 0xfd ? 3 : c === 0xfe ? 8 : 0;
  if (size === 0 || at + 1 + size > e) return -1;
  let v = 0;
  for (let k = 0; k < Math.min(size, 6); k++) v += p[at + 1 + k]! * 2 ** (8 * k);
  lenencSize = 1 + size;
  return v;
}
