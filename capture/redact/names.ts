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

/** Does `b[s, e)` contain a sensitive word (case-insensitive)? */
export function isSensitiveName(b: Uint8Array, s: number, e: number): boolean {
  for (const w of WORDS) {
    outer: for (let i = s; i + w.length <= e; i++) {
      for (let k = 0; k < w.length; k++) if (LOWER[b[i + k]!] !== w[k]) continue outer;
      return true;
    }
  }
  return false;
}
