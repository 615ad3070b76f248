import { fill, NAME_CHARS, LOWER, byteClass, type Work } from './work.js';
import { type Trigger } from './triggers.js';
import { maskJsonKeyValue } from './jsonValue.js';
import { maskSqlAssignment, maskSqlInsertColumn, maskIdentifiedBy, maskQuoted } from './sqlLiterals.js';
import { maskPickleValue } from './pickleValues.js';
import { maskFernet, maskJwt, maskBcrypt, maskShaCrypt, maskPbkdf2, maskUrlPassword } from './valueShapes.js';
import { maskRedisAuth } from './handshakes.js';

/**
 * What happens at each trigger word (capture/redact/triggers.ts): the rule that looks at the bytes around it.
 * A sensitive name is tried, in order, as a /tokens/ path segment, an HTTP header, a JSON key, a pickled dict key,
 * an SQL column (assignment or INSERT list) and a form field.
 */
export function applyTrigger(w: Work, at: number, t: Trigger): void {
  switch (t.kind) {
    case 'name':
      return maskAfterName(w, at, t.word.length, true);
    case 'header':
      return maskAfterName(w, at, t.word.length, false);
    case 'redis-auth':
      return maskRedisAuth(w, at);
    case 'identified':
      return maskIdentifiedBy(w, at);
    case 'url':
      return maskUrlPassword(w, at);
    case 'fernet':
      return maskFernet(w, at);
    case 'jwt':
      return maskJwt(w, at);
    case 'bcrypt':
      return maskBcrypt(w, at);
    case 'shacrypt':
      return maskShaCrypt(w, at);
    case 'pbkdf2':
      return maskPbkdf2(w, at);
  }
}

const LINE_END = byteClass('\r\n');
const FORM_END = byteClass('& \t\r\n;"\'<>');
const PATH_END = byteClass('/?#& \t\r\n"\'<>');
const FORM_START = byteClass('?&; \t\r\n');

function maskUntil(w: Work, from: number, stop: Uint8Array): number {
  const b = w.b;
  const end = w.end;
  let e = from;
  while (e < end && stop[b[e]!] !== 1) e++;
  fill(w, from, e);
  if (e === w.end && w.complete) w.carry = { kind: 'until', stop };
  return e;
}

function maskAfterName(w: Work, at: number, length: number, sensitiveName: boolean): void {
  const b = w.b;
  const end = w.end;
  let ns = at;
  while (ns > 0 && NAME_CHARS[b[ns - 1]!] === 1) ns--;
  let ne = at + length;
  while (ne < end && NAME_CHARS[b[ne]!] === 1) ne++;

  // Index 0 is a line or field start only when no earlier payload precedes it as context.
  const atStart = ns === 0 && w.base === 0;

  // GET /v3/OS-OAUTH1/access_tokens/<id>, /v2.0/tokens/<id>: the id segment (only after ".../*tokens/": other
  // collections named after a sensitive word, /credentials/<id>, /application_credentials/<id>, hold resource ids)
  if (sensitiveName && ns > 0 && b[ns - 1] === 0x2f && ne < end && b[ne] === 0x2f && endsWithTokens(b, ne)) {
    maskUntil(w, ne + 1, PATH_END);
    return;
  }
  // HTTP header at the start of a line: "X-Auth-Token: value" (the value to the end of the line)
  if (atStart || (ns > 0 && b[ns - 1] === 0x0a)) {
    let i = ne;
    while (i < end && (b[i] === 0x20 || b[i] === 0x09)) i++;
    if (i < end && b[i] === 0x3a) {
      i++;
      while (i < end && (b[i] === 0x20 || b[i] === 0x09)) i++;
      // (a value not started yet is found by the next payload, which sees this header as context)
      if (i < end) maskUntil(w, i, LINE_END);
      return;
    }
  }
  if (maskJsonKeyValue(w, ns, ne)) return;
  if (!sensitiveName) return;
  if (maskPickleValue(w, ns, at, ne)) return;
  if (maskSqlAssignment(w, ns, ne)) return;
  if (maskSqlInsertColumn(w, ns, ne)) return;
  // form field or query parameter: password=...&  (a quoted value is SQL or similar: only inside the quotes)
  if ((atStart || (ns > 0 && FORM_START[b[ns - 1]!] === 1)) && ne < end && b[ne] === 0x3d && b[ne + 1] !== 0x3d) {
    const v = ne + 1;
    if (v < end && (b[v] === 0x27 || b[v] === 0x22)) maskQuoted(w, v);
    else if (v === end) {
      if (w.complete) w.carry = { kind: 'until', stop: FORM_END };
    } else maskUntil(w, v, FORM_END);
  }
}


const TOKENS = Uint8Array.from('tokens', (c) => c.charCodeAt(0));

function endsWithTokens(b: Uint8Array, ne: number): boolean {
  for (let i = 0; i < TOKENS.length; i++) if (LOWER[b[ne - TOKENS.length + i]!] !== TOKENS[i]) return false;
  return true;
}
