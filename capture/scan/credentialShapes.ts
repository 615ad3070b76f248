import { SENSITIVE_WORDS, CREDENTIAL_HEADERS } from '../redact/names.js';

/**
 * What `nitrace capture-scan` looks for in payloads: credential-shaped values that redaction
 * (capture/redact/) should have replaced. Regular expressions in RE2 syntax (DuckDB's `regexp_matches`), applied
 * to `decode(payload, 'replace')`: the payload as UTF-8 text, bytes that are not UTF-8 read as '?'.
 * A redacted value is made of '*' (or '9' for digits of a number), which none of these accept where the secret
 * was.
 */
export interface CredentialShape {
  name: string;
  describe: string;
  regex: string;
}

const words = [...new Set(SENSITIVE_WORDS.map((w) => w.replace(/[-_]/g, '[-_]?')))].join('|');

export const CREDENTIAL_SHAPES: CredentialShape[] = [
  { name: 'fernet-token', describe: 'Fernet token (keystone token id, encrypted credential)', regex: 'gAAAAA[A-Za-z0-9_-]{40,}' },
  { name: 'jwt', describe: 'JSON Web Token (header.payload.signature)', regex: 'eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}' },
  { name: 'url-password', describe: 'URL with a password (scheme://user:password@)', regex: `[A-Za-z][A-Za-z0-9+.-]*://[^\\s:/@"'\\\\]+:[^\\s/@"'\\\\*][^\\s/@"'\\\\]*@` },
  { name: 'bcrypt-hash', describe: 'bcrypt password hash ($2a$/$2b$/$2y$)', regex: '\\$2[abxy]\\$[0-9]{2}\\$[./A-Za-z0-9]{53}' },
  { name: 'sha-crypt-hash', describe: 'sha256/sha512-crypt password hash ($5$/$6$)', regex: '\\$[56]\\$(rounds=[0-9]+\\$)?[./A-Za-z0-9]{1,16}\\$[./A-Za-z0-9]{43,}' },
  { name: 'pbkdf2-hash', describe: 'pbkdf2 password hash (passlib, Django, Werkzeug)', regex: 'pbkdf2[-_:A-Za-z0-9]*(\\$[0-9]+)?\\$[./A-Za-z0-9+=]{4,}\\$[./A-Za-z0-9+=]{16,}' },
  {
    name: 'credential-header',
    describe: 'credential header with a value (X-Auth-Token, Authorization, Cookie, ...)',
    regex: `(?im)^([a-z0-9-]*(${words})[a-z0-9-]*|${CREDENTIAL_HEADERS.join('|')})[ \\t]*:[ \\t]*[^*\\s]`,
  },
  {
    name: 'sensitive-json-value',
    describe: 'JSON string or number under a key named password/secret/token/... (any escape level)',
    regex: `(?i)"[a-z0-9_.-]*(${words})[a-z0-9_.-]*\\\\*"\\s*:\\s*(\\\\*"[^"*\\\\]|-?9*[0-8])`,
  },
  {
    name: 'token-id',
    describe: 'UUID-shaped token id in a token context (/tokens/<id>, token=<id>)',
    regex: '(?i)(/tokens/|token[a-z_-]*=)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}',
  },
];
