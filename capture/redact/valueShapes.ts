import { fill, byteClass, BASE64URL, DIGITS, type Work } from './work.js';

/**
 * Credentials recognised by their shape wherever they appear (SQL rows, cache values, message bodies), whatever
 * the protocol: URL passwords, Fernet tokens, JWTs and password hashes. A prefix that says what the value was is
 * kept ('gAAAAA', the JWT header, '$2b$12$'), the secret part becomes '*'. A value cut by the end of the payload
 * is masked to the end, and carried into the next payload of the stream when that one continues it.
 */

/** crypt(3) alphabet of bcrypt and sha-crypt hashes. */
const CRYPT = byteClass('./', [['A', 'Z'], ['a', 'z'], ['0', '9']]);
/** pbkdf2 hashes: passlib's adapted base64 ("./"), Django's standard base64 ("+/="). */
const PBKDF2_FIELD = byteClass('./+=', [['A', 'Z'], ['a', 'z'], ['0', '9']]);
const PBKDF2_SUFFIX = byteClass('_:-', [['A', 'Z'], ['a', 'z'], ['0', '9']]);
/** Bytes that end the authority of a URL (or anything that is not one). */
const URL_STOP = byteClass('/?#"\'\\<>` \t\r\n', [['\x00', '\x1f'], ['\x7f', '\xff']]);
/** What ends a URL password when it runs into the next payload. */
const URL_PASSWORD_STOP = byteClass('@/?#"\'\\<>` \t\r\n', [['\x00', '\x1f'], ['\x7f', '\xff']]);
const HOST_CHARS = byteClass('.-[]', [['A', 'Z'], ['a', 'z'], ['0', '9']]);
/** Bytes of a URL's authority: those not in URL_STOP. */
const URL_CHARS = URL_STOP.map((v) => (v ? 0 : 1));

function runEnd(b: Uint8Array, from: number, end: number, cls: Uint8Array): number {
  let i = from;
  while (i < end && cls[b[i]!] === 1) i++;
  return i;
}

/**
 * Mask `[from, to)`; if it reaches the payload's end, let the next payload continue masking `cls` (and `seps`
 * more fields after a `sep`: a JWT's signature, a hash after its salt).
 */
function maskRun(w: Work, from: number, to: number, cls: Uint8Array, sep = 0, seps = 0): void {
  fill(w, from, to);
  if (to === w.end && w.complete) w.carry = { kind: 'run', cls, sep, seps };
}

/** `gAAAAA` + base64url: Fernet tokens (keystone's token ids, encrypted credential blobs). */
export function maskFernet(w: Work, at: number): void {
  const e = runEnd(w.b, at, w.end, BASE64URL);
  // A Fernet token is 57+ bytes (>= 76 characters); 46 keeps us clear of short look-alikes.
  if (e - at >= 46 || (e === w.end && e - at > 6)) maskRun(w, at + 6, e, BASE64URL);
}

/** `eyJ...` `.` payload `.` signature: payload and signature masked, the header (algorithm) kept. */
export function maskJwt(w: Work, at: number): void {
  const b = w.b;
  const h = runEnd(b, at, w.end, BASE64URL);
  if (h - at < 10 || h >= w.end || b[h] !== 0x2e) return;
  const p = runEnd(b, h + 1, w.end, BASE64URL);
  if (p === w.end) {
    if (p - h > 1) maskRun(w, h + 1, p, BASE64URL, 0x2e, 1);
    return;
  }
  if (p - h - 1 < 10 || b[p] !== 0x2e) return;
  const s = runEnd(b, p + 1, w.end, BASE64URL);
  fill(w, h + 1, p);
  maskRun(w, p + 1, s, BASE64URL);
}

/** bcrypt `$2b$12$` + 22 salt + 31 hash characters. */
export function maskBcrypt(w: Work, at: number): void {
  const b = w.b;
  const cost = at + 4;
  if (cost + 3 > w.end) return;
  if (DIGITS[b[cost]!] !== 1 || DIGITS[b[cost + 1]!] !== 1 || b[cost + 2] !== 0x24) return;
  const start = cost + 3;
  const e = runEnd(b, start, Math.min(w.end, start + 53), CRYPT);
  if (e - start >= 22 || e === w.end) maskRun(w, start, e, CRYPT);
}

/** sha-crypt `$5$` / `$6$` [`rounds=N$`] salt `$` hash: salt and hash masked. */
export function maskShaCrypt(w: Work, at: number): void {
  const b = w.b;
  let i = at + 3;
  // Cut inside "rounds=": nothing secret yet; the next payload sees this one as context and decides.
  if (i + 7 > w.end && 'rounds='.startsWith(String.fromCharCode(...b.subarray(i, w.end)))) return;
  if (String.fromCharCode(...b.subarray(i, i + 7)) === 'rounds=') {
    i = runEnd(b, i + 7, w.end, DIGITS);
    if (i >= w.end || b[i] !== 0x24) return; // cut in the rounds: decided with the next payload
    i++;
  }
  const salt = runEnd(b, i, w.end, CRYPT);
  if (salt === w.end && salt > i) return maskRun(w, i, salt, CRYPT, 0x24, 1);
  if (salt - i < 1 || salt - i > 16 || b[salt] !== 0x24) return;
  const hash = runEnd(b, salt + 1, w.end, CRYPT);
  if (hash - salt - 1 >= 43 || hash === w.end) {
    fill(w, i, salt);
    maskRun(w, salt + 1, hash, CRYPT);
  }
}

/**
 * pbkdf2 in its common spellings: passlib `$pbkdf2-sha512$rounds$salt$hash`, Django `pbkdf2_sha256$rounds$salt$hash`,
 * Werkzeug `pbkdf2:sha256:rounds$salt$hash`. Every `$` field after the name is masked except bare numbers (rounds).
 */
export function maskPbkdf2(w: Work, at: number): void {
  const b = w.b;
  let i = runEnd(b, at + 6, w.end, PBKDF2_SUFFIX);
  let masked = false;
  while (i < w.end && b[i] === 0x24) {
    const e = runEnd(b, i + 1, w.end, PBKDF2_FIELD);
    const digits = runEnd(b, i + 1, e, DIGITS) === e;
    // A field cut while still all digits may be the rounds: decided with the next payload (context)
    if (digits && e === w.end && !masked) return;
    if (!digits || masked) {
      // the salt, and every field after it (a hash may happen to be all digits)
      fill(w, i + 1, e);
      masked = true;
    }
    i = e;
  }
  if (!masked) return;
  if (i === w.end && w.complete) w.carry = { kind: 'run', cls: PBKDF2_FIELD, sep: 0x24, seps: 2 };
}

/**
 * `scheme://user:password@host` (also several `user:password@host` separated by commas, as oslo.messaging's
 * transport_url allows): the password masked, user and host kept. `at` is the index of "://".
 */
export function maskUrlPassword(w: Work, at: number): void {
  const b = w.b;
  const from = at + 3;
  const stop = runEnd(b, from, w.end, URL_CHARS);
  let partStart = from;
  for (let i = from; i <= stop; i++) {
    if (i < stop && b[i] !== 0x2c) continue;
    maskUserinfo(w, partStart, i, i === w.end);
    partStart = i + 1;
  }
}

function maskUserinfo(w: Work, s: number, e: number, cut: boolean): void {
  const b = w.b;
  let atSign = -1;
  for (let i = e - 1; i >= s; i--) {
    if (b[i] === 0x40) {
      atSign = i;
      break;
    }
  }
  let colon = -1;
  for (let i = s; i < (atSign < 0 ? e : atSign); i++) {
    if (b[i] === 0x3a) {
      colon = i;
      break;
    }
  }
  if (colon < 0) return;
  if (atSign >= 0) {
    if (atSign > colon + 1) {
      fill(w, colon + 1, atSign);
    }
    return;
  }
  if (!cut) return; // host:port, no userinfo
  // Cut before any '@': "host:port" or "user:passw...". A host-like name followed by digits is taken for a port,
  // and nothing after ':' yet decides nothing: the next payload of the stream sees this one as context and decides.
  const hostLike = runEnd(b, s, colon, HOST_CHARS) === colon && runEnd(b, colon + 1, e, DIGITS) === e;
  if (hostLike || colon + 1 === e) return;
  fill(w, colon + 1, e);
  if (w.complete) w.carry = { kind: 'until', stop: URL_PASSWORD_STOP };
}
