import { fill, NINE, SPACE, type Work, type JsonValueState } from './work.js';

/**
 * JSON values under sensitive keys, whatever their type: a string is masked between its quotes, a number digit by
 * digit ('9'), an object or array leaf by leaf (string values and numbers; keys, brackets, commas and
 * true/false/null stay, so the body still parses). Works at any escape level: oslo.messaging sends its message
 * as a JSON string inside a JSON envelope (`"oslo.message": "{\"_context_auth_token\": \"...\"}"`), where the
 * inner quotes are `\"` and the inner escaped quotes `\\\"`.
 *
 * Escape levels: inner JSON text embedded in a JSON string doubles each backslash and escapes each quote, so a
 * quote preceded by n backslashes is, at level L, a string delimiter when n mod 2^(L+1) = 2^L - 1, an escaped quote
 * inside a string when n mod 2^(L+1) = 2^(L+1) - 1, and otherwise a delimiter of an outer level (the value ended).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Escape level of a quote preceded by `n` backslashes (the smallest L at which it is a delimiter). */
export function levelOfQuote(n: number): number {
  let level = 0;
  while (n % (2 << level) !== (1 << level) - 1) level++;
  return level;
}

/** Backslashes immediately before `at` (not looking before index 0). */
export function backslashesBefore(b: Uint8Array, at: number): number {
  let n = 0;
  while (at - n - 1 >= 0 && b[at - n - 1] === BACKSLASH) n++;
  return n;
}

/**
 * If `b[ns, ne)` is a JSON object key (quoted at some escape level and followed by ':'), masks its value and
 * returns true. The value may run past the payload: then `w.carry` continues it in the next payload.
 */
export function maskJsonKeyValue(w: Work, ns: number, ne: number): boolean {
  const b = w.b;
  const end = w.end;
  if (ns < 1 || b[ns - 1] !== QUOTE) return false;
  const open = backslashesBefore(b, ns - 1);
  const level = levelOfQuote(open);
  const k = (1 << level) - 1;
  // closing delimiter: exactly k backslashes (as a run) then a quote
  let i = ne;
  for (let n = 0; n < k; n++, i++) if (i >= end || b[i] !== BACKSLASH) return false;
  if (i >= end || b[i] !== QUOTE) return false;
  i++;
  while (i < end && SPACE[b[i]!] === 1) i++;
  if (i >= end || b[i] !== 0x3a /* : */) return false;
  i++;
  while (i < end && SPACE[b[i]!] === 1) i++;
  if (i >= end) {
    // "key": | value in the next payload
    if (w.complete) w.carry = { kind: 'json', state: newState(level) };
    return true;
  }
  // (what scanJsonValue leaves alone at once - true, false, null - needs no state made for it)
  const c = b[i]!;
  if (c === QUOTE || c === BACKSLASH || c === 0x7b || c === 0x5b || c === 0x2d || (c >= 0x30 && c <= 0x39)) scanJsonValue(w, i, newState(level));
  return true;
}

export function newState(level: number): JsonValueState {
  return { level, stack: [], inString: false, inKey: false, expectKey: false, inNumber: false, backslashes: 0 };
}

/**
 * Masks the JSON value starting at `from` (or continuing, for a carried state). Returns the index after the
 * value, or `w.end` if it runs past the payload (then, if the payload is complete, `w.carry` holds the state).
 * A literal (true, false, null) or anything that is not a value is left alone: returns `from`.
 */
export function scanJsonValue(w: Work, from: number, st: JsonValueState): number {
  const b = w.b;
  const end = w.end;
  const M = 2 << st.level;
  const k = (1 << st.level) - 1;
  const started = st.inString || st.inNumber || st.stack.length > 0 || st.backslashes > 0;
  let i = from;
  if (!started) {
    // The first byte decides: a string (after its delimiter's backslashes), a number, or a container.
    let j = i;
    while (j < end && b[j] === BACKSLASH) j++;
    if (j >= end) {
      st.backslashes = j - i;
      if (w.complete) w.carry = { kind: 'json', state: st };
      return end;
    }
    const c = b[j]!;
    if (c === QUOTE) {
      if ((j - i) % M !== k) return from;
    } else if (j !== i) return from;
    else if (!(c === 0x7b || c === 0x5b || c === 0x2d || (c >= 0x30 && c <= 0x39))) return from; // { [ - digit
  }
  let runStart = i - st.backslashes; // first backslash of the current run (may be in the previous payload)
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === BACKSLASH) {
      if (st.backslashes === 0) runStart = i;
      st.backslashes++;
      continue;
    }
    const n = st.backslashes;
    st.backslashes = 0;
    if (c === QUOTE) {
      const r = n % M;
      if (st.inString) {
        if (r === k) {
          // closing delimiter: backslashes beyond the delimiter's own k are content
          if (!st.inKey && n > k) fill(w, runStart, i - k);
          st.inString = false;
          if (st.stack.length === 0) return i + 1;
        } else if (r === M - 1) {
          if (!st.inKey) fill(w, runStart, i + 1); // an escaped quote: content
        } else {
          return i - n; // an outer level's delimiter: the enclosing string ended under us
        }
      } else if (r === k) {
        st.inString = true;
        st.inKey = st.expectKey;
      } else {
        return i - n;
      }
      continue;
    }
    if (n > 0 && st.inString && !st.inKey) fill(w, runStart, i); // an escape sequence's backslashes: content
    if (st.inString) {
      // the run of plain content up to the next quote or backslash, in one go
      let j = i + 1;
      while (j < end) {
        const x = b[j]!;
        if (x === QUOTE || x === BACKSLASH) break;
        j++;
      }
      if (!st.inKey) fill(w, i, j);
      i = j - 1;
      continue;
    }
    if (st.inNumber) {
      if (c >= 0x30 && c <= 0x39) {
        fill(w, i, i + 1, NINE);
        continue;
      }
      if (c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) continue; // . e E + -
      st.inNumber = false;
      if (st.stack.length === 0) return i;
    }
    switch (c) {
      case 0x7b: // {
        st.stack.push(true);
        st.expectKey = true;
        break;
      case 0x5b: // [
        st.stack.push(false);
        st.expectKey = false;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        st.stack.pop();
        if (st.stack.length === 0) return i + 1;
        st.expectKey = false;
        break;
      case 0x3a: // :
        st.expectKey = false;
        break;
      case 0x2c: // ,
        st.expectKey = st.stack[st.stack.length - 1] === true;
        break;
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          st.inNumber = true;
          if (c !== 0x2d) fill(w, i, i + 1, NINE);
        } else if (st.stack.length === 0 && SPACE[c] !== 1) {
          return i;
        }
    }
  }
  // Backslashes pending at the end of a string value: all but a delimiter's own k are content whatever follows.
  if (st.inString && !st.inKey && st.backslashes > k) fill(w, runStart, end - k);
  if (w.complete) w.carry = { kind: 'json', state: st };
  return end;
}
