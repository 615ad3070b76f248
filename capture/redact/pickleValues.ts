import { fill, type Work } from './work.js';

/**
 * Python pickles (what oslo.cache / dogpile put into memcached): a string value stored under a sensitive dict key.
 * Protocol 0 writes `V<key>\n` [`p<n>\n`] `V<value>\n` (or `S'<value>'\n`); protocols 2+ write length-prefixed
 * strings (SHORT_BINUNICODE 0x8c, BINUNICODE 'X', SHORT_BINSTRING 'U', BINSTRING 'T', SHORT_BINBYTES 'C', BINBYTES
 * 'B') with an optional MEMOIZE / BINPUT between key and value. Pickles also refer back to a key already written
 * (`g12`), which this cannot follow: the value-shape rules (Fernet, hashes) are what catches those.
 * Opcodes: https://github.com/python/cpython/blob/main/Lib/pickletools.py
 */

const NL = 0x0a;
const SHORT_LEN = byteTable([0x8c, 0x55, 0x43]); // SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES: u8 length
const LONG_LEN = byteTable([0x58, 0x54, 0x42]); // BINUNICODE, BINSTRING, BINBYTES: u32 LE length

function byteTable(bytes: number[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of bytes) t[c] = 1;
  return t;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Argument-less protocol-0 opcodes that may sit on a line before `V<key>` (SETITEM, MARK, DICT, APPEND...). */
const BARE_OPCODES = byteTable(Array.from('(sadltue0N)}]bR.', (c) => c.charCodeAt(0)));

/**
 * If the name `b[ns, ne)` (extended around a sensitive word at `word`) is a pickled dict key followed by a string
 * value, masks the value and returns true.
 */
export function maskPickleValue(w: Work, ns: number, word: number, ne: number): boolean {
  const b = w.b;
  const end = w.end;
  // Protocol 0: the name as extended may start with opcodes (`sVpassword`); the key follows the first 'V'.
  let v = ns;
  while (v < word && BARE_OPCODES[b[v]!] === 1) v++;
  if (v < word && b[v] === 0x56 /* V */ && (ns === 0 || b[ns - 1] === NL || b[ns - 1] === 0x28) && ne < end && b[ne] === NL) {
    return maskPickleString(w, ne + 1);
  }
  if (ns >= 2 && b[ns - 1] === 0x27 && b[ns - 2] === 0x53 /* S' */ && ne + 1 < end && b[ne] === 0x27 && b[ne + 1] === NL) {
    return maskPickleString(w, ne + 2);
  }
  // Binary protocols: the key's length prefix says where it ends (opcodes after it may be letters: BINPUT 'q').
  let keyLen = -1;
  if (ns >= 2 && SHORT_LEN[b[ns - 2]!] === 1) keyLen = b[ns - 1]!;
  else if (ns >= 5 && LONG_LEN[b[ns - 5]!] === 1) keyLen = u32(b, ns - 4);
  if (keyLen < 0 || ns + keyLen <= word || ns + keyLen > ne) return false;
  return maskPickleString(w, ns + keyLen);
}

/** Masks the pickled string at or after `i` (skipping one memo opcode). */
function maskPickleString(w: Work, i: number): boolean {
  const b = w.b;
  const end = w.end;
  // Memo opcodes between key and value: PUT `p<n>\n`, BINPUT `q` u8, LONG_BINPUT `r` u32, MEMOIZE 0x94.
  if (i < end && b[i] === 0x70) {
    while (i < end && b[i] !== NL) i++;
    i++;
  } else if (i < end && b[i] === 0x71) i += 2;
  else if (i < end && b[i] === 0x72) i += 5;
  else if (i < end && b[i] === 0x94) i += 1;
  if (i >= end) return true;
  const op = b[i]!;
  if (op === 0x56 /* V */) {
    let e = i + 1;
    while (e < end && b[e] !== NL) e++;
    fill(w, i + 1, e);
    if (e === end && w.complete) w.carry = { kind: 'until', stop: NEWLINE };
  } else if (op === 0x53 /* S */ && b[i + 1] === 0x27) {
    let e = i + 2;
    while (e < end && !(b[e] === 0x27 && (e + 1 >= end || b[e + 1] === NL))) e++;
    fill(w, i + 2, e);
  } else if (SHORT_LEN[op] === 1 && i + 1 < end) {
    maskCounted(w, i + 2, b[i + 1]!);
  } else if (LONG_LEN[op] === 1 && i + 4 < end) {
    maskCounted(w, i + 5, u32(b, i + 1));
  }
  return true;
}

const NEWLINE = new Uint8Array(256);
NEWLINE[NL] = 1;

function maskCounted(w: Work, from: number, n: number): void {
  const e = Math.min(w.end, from + n);
  fill(w, from, e);
  if (from + n > w.end && w.complete) w.carry = { kind: 'count', left: from + n - w.end };
}
