import { fill, byteClass, NINE, SPACE, DIGITS, matchesAt, type Work, type InsertRowsState } from './work.js';
import { isSensitiveName } from './names.js';

/**
 * SQL statements that carry secrets as literals (MySQL clients such as PyMySQL inline the parameters):
 * - `col = 'v'` / `col = 123` where col's last dotted part is a sensitive name (UPDATE ... SET, WHERE, INSERT ... SET),
 * - `INSERT|REPLACE INTO t (c1, password_hash, ...) VALUES (...), (...)`: the sensitive column's value in every row,
 * - `PASSWORD('v')`, `IDENTIFIED [WITH plugin] BY [PASSWORD] 'v'`, `IDENTIFIED VIA plugin USING 'v'`.
 * Literals keep their quotes and length; numbers keep their sign and dots ('9' for each digit).
 */

const SQ = 0x27;
const DQ = 0x22;
const BACKSLASH = 0x5c;
const BACKTICK = 0x60;
/** A digit after one of these belongs to a name (utc_timestamp6), not to a number. */
const LETTERS = byteClass('_', [['A', 'Z'], ['a', 'z']]);
/**
 * Bytes that end the walk back from a column name towards its INSERT list's '(' (maskSqlInsertColumn): what no
 * column list holds. Quotes, ')', ';', '=' and '.' (a select list's `t.col`); and control bytes other than tab and
 * line ends, which SQL text never holds but binary protocols do: a MySQL result set's column definitions
 * (length-prefixed names such as `password`) walked back up to 4 KiB each before this, ~110 bytes per event of the
 * OpenStack samples, half as many as the trigger scan itself (decode-redact profile, session 7).
 */
const INSERT_LIST_STOP = byteClass(')\'";=.', [['\x00', '\x08'], ['\x0b', '\x0c'], ['\x0e', '\x1f']]);
/** The walk back's byte classes, one load per byte: 0 go on, 1 the list's '(', 2 a ',', 3 INSERT_LIST_STOP. */
const INSERT_LIST_WALK = INSERT_LIST_STOP.map((stop, c) => (c === 0x28 ? 1 : c === 0x2c ? 2 : stop ? 3 : 0));

/** Masks the quoted literal opening at `at`; returns the index after its closing quote (or `w.end`). */
export function maskQuoted(w: Work, at: number): number {
  const b = w.b;
  const quote = b[at]!;
  let i = at + 1;
  while (i < w.end) {
    const c = b[i]!;
    if (c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (i + 1 < w.end && b[i + 1] === quote) {
        i += 2; // '' inside a literal
        continue;
      }
      fill(w, at + 1, i);
      return i + 1;
    }
    i++;
  }
  fill(w, at + 1, w.end);
  if (w.complete) w.carry = { kind: 'sql', quote, escaped: i > w.end };
  return w.end;
}

/** Masks a literal (quoted, or a bare number) at `at`; returns the index after it, or `at` if there is none. */
function maskLiteral(w: Work, at: number): number {
  const b = w.b;
  if (at >= w.end) return at;
  const c = b[at]!;
  if (c === SQ || c === DQ) return maskQuoted(w, at);
  let i = at;
  if (c === 0x2d) i++;
  const start = i;
  while (i < w.end && (DIGITS[b[i]!] === 1 || b[i] === 0x2e)) i++;
  if (i === start) return at;
  for (let j = start; j < i; j++) if (b[j] !== 0x2e) fill(w, j, j + 1, NINE);
  return i;
}

function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && SPACE[b[i]!] === 1) i++;
  return i;
}

const WORD_PASSWORD = Uint8Array.from('password', (c) => c.charCodeAt(0));
const WORD_VALUES = Uint8Array.from('values', (c) => c.charCodeAt(0));
const WORD_VALUE = Uint8Array.from('value', (c) => c.charCodeAt(0));

/** `name = literal` and `PASSWORD(literal)` after the identifier `b[ns, ne)`. Returns true if it masked something. */
export function maskSqlAssignment(w: Work, ns: number, ne: number): boolean {
  const b = w.b;
  let i = ne;
  if (i < w.end && (b[i] === BACKTICK || b[i] === DQ)) i++;
  i = skipSpace(b, i, w.end);
  if (i >= w.end) return false;
  if (b[i] === 0x3d /* = */ && b[i + 1] !== 0x3d) {
    let last = ne;
    while (last > ns && b[last - 1] !== 0x2e) last--;
    if (!isSensitiveName(b, last, ne)) return false;
    const v = skipSpace(b, i + 1, w.end);
    return maskLiteral(w, v) !== v;
  }
  if (b[i] === 0x28 /* ( */ && ne - ns === 8 && matchesAt(b, ns, ne, WORD_PASSWORD)) {
    const v = skipSpace(b, i + 1, w.end);
    return maskLiteral(w, v) !== v;
  }
  return false;
}

/** `IDENTIFIED ... BY|USING 'secret'`: the first quoted literal within the next few words. `at` is the word's index. */
export function maskIdentifiedBy(w: Work, at: number): void {
  const b = w.b;
  const limit = Math.min(w.end, at + 10 + 96);
  for (let i = at + 10; i < limit; i++) {
    const c = b[i]!;
    if (c === SQ || c === DQ) {
      maskQuoted(w, i);
      return;
    }
    if (c === 0x3b /* ; */ || c === 0x2c /* , */) return;
  }
}

/**
 * `INSERT|REPLACE [IGNORE] INTO t (a, b, secret_col, ...) VALUES (...), (...)` where `b[ns, ne)` is a column in the
 * list: masks that column's value in every row. Returns true if `b[ns, ne)` was such a column.
 */
export function maskSqlInsertColumn(w: Work, ns: number, ne: number): boolean {
  const b = w.b;
  // Back to the list's '(' counting commas: the column's index. Column names hold no quotes or parentheses.
  // (Select lists, with their qualified `t.col` names, stop at the first '.'.)
  let column = 0;
  let i = ns - 1;
  const stopBack = Math.max(0, ns - 4096);
  for (; i >= stopBack; i--) {
    const k = INSERT_LIST_WALK[b[i]!]!;
    if (k === 0) continue;
    if (k === 1) break;
    if (k === 2) column++;
    else return false;
  }
  if (i < stopBack) return false;
  if (!insertIntoBefore(b, i)) return false;
  // Forward to the list's ')', then VALUES.
  let j = ne;
  while (j < w.end && b[j] !== 0x29) {
    if (b[j] === 0x28 || b[j] === SQ) return false;
    j++;
  }
  j = skipSpace(b, j + 1, w.end);
  let element = -1;
  if (matchesAt(b, j, w.end, WORD_VALUES)) j += 6;
  else if (matchesAt(b, j, w.end, WORD_VALUE) && j + 5 < w.end) j += 5;
  else if (w.end - j < 6 && matchesAt(b, j, w.end, WORD_VALUES.subarray(0, w.end - j))) element = -2; // cut inside VALUES
  else return false;
  scanInsertRows(w, j, { column, element, depth: 0, quote: 0, escaped: false, quoteAtEnd: false });
  return true;
}

/**
 * Walks the rows of a VALUES list, `(v0, v1, ...), (...)`, masking element `column` of each; resumable, so a
 * multi-row INSERT split across syscalls is followed into the next payload (`w.carry`).
 */
export function scanInsertRows(w: Work, from: number, st: InsertRowsState): void {
  const b = w.b;
  const end = w.end;
  for (let i = from; i < end; i++) {
    const c = b[i]!;
    const masking = st.element === st.column;
    if (st.quoteAtEnd) {
      // the previous payload ended on a quote: doubled ('') if this one starts with another, else it closed
      st.quoteAtEnd = false;
      if (c === st.quote) {
        if (masking) fill(w, i, i + 1);
        continue;
      }
      st.quote = 0;
    }
    if (st.quote !== 0) {
      if (st.escaped) st.escaped = false;
      else if (c === BACKSLASH) st.escaped = true;
      else if (c === st.quote) {
        if (i + 1 === end) {
          st.quoteAtEnd = true;
          continue;
        }
        if (b[i + 1] === st.quote) {
          if (masking) fill(w, i, i + 2);
          i++;
          continue;
        }
        st.quote = 0;
        continue;
      }
      if (masking) fill(w, i, i + 1);
      continue;
    }
    if (st.element === -2) {
      // the rest of the word VALUES, cut by the previous payload's end
      if (c === 0x28) {
        st.element = 0;
        st.depth = 0;
      } else if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || SPACE[c] === 1)) return;
      continue;
    }
    if (st.element === -1) {
      if (c === 0x28) {
        st.element = 0;
        st.depth = 0;
      } else if (c !== 0x2c && SPACE[c] !== 1) return; // end of the list (';', ON DUPLICATE KEY ...)
      continue;
    }
    if (c === SQ || c === DQ) st.quote = c;
    else if (c === 0x28) st.depth++;
    else if (c === 0x29) {
      if (st.depth === 0) st.element = -1;
      else st.depth--;
    } else if (c === 0x2c && st.depth === 0) st.element++;
    else if (masking && DIGITS[c] === 1 && (i === 0 || LETTERS[b[i - 1]!] !== 1)) fill(w, i, i + 1, NINE);
  }
  if (w.complete) w.carry = { kind: 'insert', state: st };
}

/** Is `...INSERT [modifiers] INTO name` right before the '(' at `paren`? */
function insertIntoBefore(b: Uint8Array, paren: number): boolean {
  const from = Math.max(0, paren - 200);
  const text = Buffer.from(b.buffer, b.byteOffset + from, paren - from).toString('latin1');
  return /(?:insert|replace)\s+(?:(?:ignore|delayed|low_priority|high_priority)\s+)*(?:into\s+)?[`"\w.$]+[`"]?\s*$/i.test(text);
}
