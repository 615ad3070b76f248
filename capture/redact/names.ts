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
 * The words by their first (lower-case) byte: a position is compared only with the words that can start there
 * (one table load per byte instead of ten word comparisons; MySQL column definitions of every result set of
 * a followed query pass through here, capture/redact/mysqlResults.ts).
 */
const BY_FIRST: Uint8Array[][] = Array.from({ length: 256 }, () => []);
for (const w of WORDS) BY_FIRST[w[0]!]!.push(w);

/** Does `b[s, e)` contain a sensitive word (case-insensitive)? */
export function isSensitiveName(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const words = BY_FIRST[LOWER[b[i]!]!]!;
    if (words.length === 0) continue;
    outer: for (const w of words) {
      if (i + w.length > e) continue;
      for (let k = 1; k < w.length; k++) if (LOWER[b[i + k]!] !== w[k]) continue outer;
      return true;
    }
  }
  return false;
}
