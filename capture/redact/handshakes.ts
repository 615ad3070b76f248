import { fill, LOWER, type Work } from './work.js';

/**
 * Credentials inside binary protocol handshakes, recognised by their framing: checked on every payload at the
 * cost of a few byte comparisons.
 */

/**
 * AMQP 0-9-1 connection.start-ok (class 10, method 11: the SASL response holds user and password) and
 * connection.secure-ok (method 21: a SASL challenge response). AMQP 0-9-1 spec, 4.2.3 and class `connection`.
 */
export function maskAmqpCredentials(w: Work): void {
  const p = w.b;
  const s = w.base;
  const end = w.end;
  // Frame: type 1 (method), channel 0, u32 size, class u16 = 10, method u16 = 11 or 21.
  if (end - s < 15 || p[s] !== 1 || p[s + 1] !== 0 || p[s + 2] !== 0) return;
  if (p[s + 7] !== 0 || p[s + 8] !== 10 || p[s + 9] !== 0 || (p[s + 10] !== 11 && p[s + 10] !== 21)) return;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let off = s + 11;
  if (p[s + 10] === 11) {
    if (off + 4 > end) return;
    off += 4 + view.getUint32(off); // client-properties table
    if (off >= end) return;
    off += 1 + p[off]!; // mechanism shortstr
  }
  if (off + 4 > end) return;
  const len = view.getUint32(off);
  off += 4;
  const stop = Math.min(end, off + len);
  for (let i = off; i < stop; i++) if (p[i] !== 0) fill(w, i, i + 1); // keep PLAIN's NUL separators
  if (off + len > end && w.complete) w.carry = { kind: 'count', left: off + len - end };
}

/** MySQL HandshakeResponse41 (client's second packet, sequence id 1): the auth response after the user name. */
export function maskMysqlHandshake(w: Work): void {
  const p = w.b;
  const s = w.base;
  const end = w.end;
  // Header: 3-byte length, seq id 1; then caps u32, max packet u32, charset u8, 23 zero bytes (filler).
  if (end - s < 37 || p[s + 3] !== 1) return;
  for (let i = s + 13; i < s + 36; i++) if (p[i] !== 0) return;
  const caps = p[s + 4]! | (p[s + 5]! << 8) | (p[s + 6]! << 16) | (p[s + 7]! << 24);
  const CLIENT_PROTOCOL_41 = 0x200;
  if (!(caps & CLIENT_PROTOCOL_41)) return;
  let off = s + 36;
  while (off < end && p[off] !== 0) off++; // user name
  off++;
  if (off >= end) return;
  const len = p[off]!; // auth response: 1-byte length (or a length-encoded int < 251: the same)
  off++;
  fill(w, off, Math.min(end, off + (len < 251 ? len : 0)));
}

/** Redis AUTH (and HELLO ... AUTH) as a RESP array: the one or two bulk strings after AUTH. `at` is "AUTH\r\n". */
export function maskRedisAuth(w: Work, at: number): void {
  const p = w.b;
  // "$4\r\n" before the word: a bulk string
  if (at < 4 || p[at - 4] !== 0x24 || p[at - 3] !== 0x34 || p[at - 2] !== 0x0d || p[at - 1] !== 0x0a) return;
  let off = at + 6;
  for (let arg = 0; arg < 2 && off < w.end && p[off] === 0x24; arg++) {
    let eol = off + 1;
    let n = 0;
    while (eol < w.end && p[eol] >= 0x30 && p[eol]! <= 0x39) n = n * 10 + p[eol++]! - 0x30;
    if (eol + 1 >= w.end || p[eol] !== 0x0d) return;
    const start = eol + 2;
    fill(w, start, Math.min(w.end, start + n));
    if (start + n > w.end) {
      if (w.complete) w.carry = { kind: 'count', left: start + n - w.end };
      return;
    }
    off = start + n + 2;
  }
}

/** Redis inline `AUTH password` at the start of a payload. */
export function maskRedisInlineAuth(w: Work): void {
  const p = w.b;
  const s = w.base;
  if (w.end - s < 6 || LOWER[p[s]!] !== 0x61 || LOWER[p[s + 1]!] !== 0x75 || LOWER[p[s + 2]!] !== 0x74 || LOWER[p[s + 3]!] !== 0x68 || p[s + 4] !== 0x20) return;
  let e = s + 5;
  while (e < w.end && p[e] !== 0x0d && p[e] !== 0x0a) e++;
  fill(w, s + 5, e);
}
