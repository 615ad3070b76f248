import { LOWER } from './work.js';

/**
 * Sensitive names: a key, header, column, form field or flag whose value is a credential. A name is sensitive
 * when it contains one of these words, in any case: password/passwd (and every *_password), secret, token,
 * credential, private_key, api_key, hmac (OSProfiler's hmac_key and X-Trace-HMAC sign trace headers).
 */
export const SENSITIVE_WORDS = ['passw', 'secret', 'token', 'credential', 'private_key', 'private-key', 'api_key', 'api-key', 'apikey', 'hmac'];
/** The same as a regular-expression fragment matching a whole name ([A-Za-z0-9_.-]*word[A-Za-z0-9_.-]*). */
export const SENSITIVE_NAME_PATTERN = `[A-Za-z0-9_.-]*(?:${SENSITIVE_WORDS.join('|')})[A-Za-z0-9_.-]*`;

/** Header names whose values are credentials without a sensitive word in the name. */
export const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

const WORDS = SENSITIVE_WORDS.map((w) => Uint8Array.from(w, (c) => c.charCodeAt(0)));
/**
 * The words by their first two bytes, raw, in every case ((first << 8) | second -> 1 + index into BY_PAIR): a
 * position is compared only with the words that can start there, after one table load (MySQL column definitions
 * of every result set of a followed query pass through here, capture/redact/mysqlResults.ts).
 */
const PAIRS = new Uint8Array(65536);
const BY_PAIR: Uint8Array[][] = [];
{
  const cases = (c: number): number[] => (c >= 0x61 && c <= 0x7a ? [c, c - 32] : [c]);
  for (const w of WORDS) {
    const key = (w[0]! << 8) | w[1]!;
    if (PAIRS[key] === 0) {
      BY_PAIR.push([]);
      for (const a of cases(w[0]!)) for (const c of cases(w[1]!)) PAIRS[(a << 8) | c] = BY_PAIR.length;
    }
    BY_PAIR[PAIRS[key]! - 1]!.push(w);
  }
}

/** Does `b[s, e)` contain a sensitive word (case-insensitive)? */
export function isSensitiveName(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i + 1 < e; i++) {
    const g = PAIRS[(b[i]! << 8) | b[i + 1]!]!;
    if (g === 0) continue;
    const words = BY_PAIR[g - 1]!;
    outer: for (let x = 0; x < words.length; x++) {
      const w = words[x]!;
      if (i + w.length > e) continue;
      for (let k = 2; k < w.length; k++) if (LOWER[b[i + k]!] !== w[k]) continue outer;
      return true;
    }
  }
  return false;
}
