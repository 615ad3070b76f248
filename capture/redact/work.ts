/**
 * The bytes one redaction rule looks at: the previous payload's tail of the same connection and direction (read-only
 * context, so a key split across two syscalls is still recognised) followed by the payload being redacted.
 */
export interface Work {
  /** Context then payload. */
  b: Uint8Array;
  /** Index of the payload's first byte in `b`; bytes before it belong to an earlier payload and are never changed. */
  base: number;
  /** End of the payload in `b`. */
  end: number;
  /**
   * The payload is all the syscall moved (not cut at the snaplen): the next payload of the stream continues right
   * after it, so a value that runs to `end` is carried over (`carry`) and masked on in the next payload.
   */
  complete: boolean;
  /** Payload bytes changed so far (masking what is already masked changes nothing). */
  changed: number;
  /** What the next payload of the stream must continue masking, set by a rule whose value runs to `end`. */
  carry: Carry | null;
}

/** '*': the byte secrets are replaced with (digits of numbers become '9', to stay valid JSON/SQL numbers). */
export const STAR = 0x2a;
export const NINE = 0x39;

/** A value still open at the end of a payload, masked on at the start of the next one (capture/redact/carry.ts). */
export type Carry =
  /** Inside a JSON value under a sensitive key (capture/redact/jsonValue.ts). */
  | { kind: 'json'; state: JsonValueState }
  /**
   * A credential made of one character class (base64url token, hash alphabet): mask while `cls[byte]`, then
   * through `seps` more `sep` separators (a JWT's signature after its payload, a hash after its salt), kept.
   */
  | { kind: 'run'; cls: Uint8Array; sep: number; seps: number }
  /** A value that ends at one of `stop` (end of line, '&', '@'...): mask until then. */
  | { kind: 'until'; stop: Uint8Array }
  /** A quoted SQL literal (quote ' or "), `escaped` when the last byte was a backslash. */
  | { kind: 'sql'; quote: number; escaped: boolean }
  /** A length-prefixed value (pickle, RESP): this many bytes still to mask. */
  | { kind: 'count'; left: number }
  /** The rows of an INSERT's VALUES list (capture/redact/sqlLiterals.ts). */
  | { kind: 'insert'; state: InsertRowsState };

/** Where a walk over `VALUES (...), (...)` stands. */
export interface InsertRowsState {
  /** Index of the sensitive column in each row. */
  column: number;
  /** Element of the current row (-1: between rows, -2: in the word VALUES before the first row). */
  element: number;
  /** Parentheses open inside the element (function calls). */
  depth: number;
  /** Open quote character, 0 outside a literal. */
  quote: number;
  escaped: boolean;
  /** The payload ended on the quote: closing, or the first of a doubled '' (the next byte decides). */
  quoteAtEnd: boolean;
}

/** Where a JSON value scan stands (capture/redact/jsonValue.ts). */
export interface JsonValueState {
  /** Escape level: 0 plain JSON, 1 JSON inside a JSON string (oslo.messaging), ... */
  level: number;
  /** Containers open inside the value, innermost last: true for an object, false for an array. */
  stack: boolean[];
  inString: boolean;
  /** The open string is an object key (kept) rather than a value (masked). */
  inKey: boolean;
  /** The next string in the current object is a key. */
  expectKey: boolean;
  /** A bare number is being read (digits masked). */
  inNumber: boolean;
  /** Backslashes just before the current byte (they may belong to a quote's delimiter). */
  backslashes: number;
}

/** Mask `[start, end)` with `byte`, never touching the read-only context before `w.base`. */
export function fill(w: Work, start: number, end: number, byte = STAR): void {
  const b = w.b;
  for (let i = start < w.base ? w.base : start; i < end; i++) {
    if (b[i] !== byte) {
      b[i] = byte;
      w.changed++;
    }
  }
}

/** A 256-entry membership table. */
export function byteClass(chars: string, ranges: [string, string][] = []): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  for (const [a, z] of ranges) for (let c = a.charCodeAt(0); c <= z.charCodeAt(0); c++) t[c] = 1;
  return t;
}

/** Base64url, as Fernet tokens and JWT segments use it (plus '=' padding). */
export const BASE64URL = byteClass('-_=', [['A', 'Z'], ['a', 'z'], ['0', '9']]);
/** The "./A-Za-z0-9" alphabet of crypt(3) hashes (bcrypt, sha-crypt), plus '+' and '=' for pbkdf2 variants. */
export const HASH_CHARS = byteClass('./+=', [['A', 'Z'], ['a', 'z'], ['0', '9']]);
export const DIGITS = byteClass('', [['0', '9']]);
export const HEX = byteClass('', [['0', '9'], ['a', 'f'], ['A', 'F']]);
/** Characters of a name (key, header, column, parameter): what a sensitive word is extended over. */
export const NAME_CHARS = byteClass('_.-', [['A', 'Z'], ['a', 'z'], ['0', '9']]);
export const SPACE = byteClass(' \t\r\n');

/** Lower-case ASCII letters, every other byte unchanged. */
export const LOWER = new Uint8Array(256).map((_, i) => (i >= 0x41 && i <= 0x5a ? i + 32 : i));

/** Do the bytes at `at` equal `word` (lower-case ASCII), ignoring case? Out of range: false. */
export function matchesAt(b: Uint8Array, at: number, end: number, word: Uint8Array): boolean {
  if (at < 0 || at + word.length > end) return false;
  for (let i = 0; i < word.length; i++) if (LOWER[b[at + i]!] !== word[i]) return false;
  return true;
}

/** First index >= `from` (and < `end`) whose byte is not in `cls`. */
export function skipClass(b: Uint8Array, from: number, end: number, cls: Uint8Array): number {
  let i = from;
  while (i < end && cls[b[i]!] === 1) i++;
  return i;
}
