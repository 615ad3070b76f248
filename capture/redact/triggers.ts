import { LOWER } from './work.js';

/**
 * The prefilter: one pass over the raw payload bytes looking for the few words after which a secret can follow.
 * Most payloads contain none and cost only this pass (no string is built). Each word is found through one of its
 * two-byte pairs chosen to be rare in OpenStack traffic (measured on the shipped samples: the anchors below occur
 * at ~0.6 % of byte positions), then the whole word is compared.
 */

/** What a trigger word starts: which rule looks at it (capture/redact/rules.ts). */
export type TriggerKind =
  | 'name' // a sensitive name: JSON key, header, SQL column, form field, pickle key, /tokens/ path
  | 'header' // a credential header name that is not a sensitive name (Authorization, Cookie)
  | 'redis-auth' // RESP or inline AUTH
  | 'identified' // SQL IDENTIFIED BY '...'
  | 'url' // scheme://user:password@
  | 'fernet'
  | 'jwt'
  | 'bcrypt'
  | 'shacrypt'
  | 'pbkdf2';

export interface Trigger {
  id: number;
  /** Lower-case (or exact) bytes of the word. */
  word: Uint8Array;
  kind: TriggerKind;
  /** Compare case-sensitively (token formats: 'gAAAAA', 'eyJ', '$2b$'). */
  exact: boolean;
  /** Offset of the anchor pair in the word. */
  anchor: number;
  /** The anchor pair, lower-cased (words sharing it are checked together). */
  anchorKey?: number;
  /** Position among the words sharing its anchor pair (the order findTriggers reports them in at one position). */
  rank?: number;
}

// [word, kind, anchor offset, exact]. Anchor pairs per million payload bytes of the samples in the comment.
const WORDS: [string, TriggerKind, number, boolean][] = [
  ['passw', 'name', 3, false], // sw 1598
  ['secret', 'name', 2, false], // cr 1596
  ['token', 'name', 1, false], // ok 830
  ['credential', 'name', 7, false], // ia 385
  ['private_key', 'name', 7, false], // _k 111
  ['private-key', 'name', 7, false], // -k 4
  ['api_key', 'name', 2, false], // i_ 20
  ['api-key', 'name', 2, false], // i- 26
  ['apikey', 'name', 2, false], // ik 6
  ['hmac', 'name', 0, false], // hm 38
  ['cookie', 'header', 3, false], // ki 39
  ['authoriz', 'header', 6, false], // iz 103
  ['auth\r\n', 'redis-auth', 3, false], // h\r 32
  ['identified', 'identified', 5, false], // if 119
  ['://', 'url', 0, true], // :/ 492
  ['gAAAAA', 'fernet', 0, true], // ga 144
  ['eyJ', 'jwt', 1, true], // yj 37
  ['$2a$', 'bcrypt', 0, true], // $2 8
  ['$2b$', 'bcrypt', 0, true],
  ['$2x$', 'bcrypt', 0, true],
  ['$2y$', 'bcrypt', 0, true],
  ['$5$', 'shacrypt', 0, true], // $5 0
  ['$6$', 'shacrypt', 0, true], // $6 0
  ['pbkdf2', 'pbkdf2', 0, false], // pb 6
];

export const TRIGGERS: Trigger[] = WORDS.map(([w, kind, anchor, exact], id) => ({
  id,
  word: Uint8Array.from(w, (c) => (exact ? c.charCodeAt(0) : LOWER[c.charCodeAt(0)]!)),
  kind,
  exact,
  anchor,
}));
/** Bytes that occur in some trigger word (both cases): a word can span two payloads only where both edges hold one. */
export const WORD_BYTES = new Uint8Array(256);
for (const t of TRIGGERS) {
  for (const c of t.word) {
    WORD_BYTES[c] = 1;
    if (!t.exact && c >= 0x61 && c <= 0x7a) WORD_BYTES[c - 32] = 1;
  }
}

/** Longest word: how far a word may reach back into the previous payload. */
export const MAX_WORD = Math.max(...TRIGGERS.map((t) => t.word.length));

/**
 * Anchor pair, as raw bytes in every case the word may take -> 1 + index into GROUPS; 0 = no word anchored there.
 * Indexed by the raw bytes, so the scan does one table load per byte (no lower-casing).
 */
const ANCHORS = new Uint8Array(65536);
const GROUPS: Trigger[][] = [];
const cases = (c: number, exact: boolean): number[] => (!exact && c >= 0x61 && c <= 0x7a ? [c, c - 32] : [c]);
for (const t of TRIGGERS) {
  const lower = (LOWER[t.word[t.anchor]!]! << 8) | LOWER[t.word[t.anchor + 1]!]!;
  let group = GROUPS.findIndex((g) => g[0]!.anchorKey === lower);
  if (group < 0) {
    GROUPS.push([]);
    group = GROUPS.length - 1;
  }
  t.anchorKey = lower;
  t.rank = GROUPS[group]!.length;
  GROUPS[group]!.push(t);
  for (const a of cases(t.word[t.anchor]!, t.exact)) for (const b of cases(t.word[t.anchor + 1]!, t.exact)) ANCHORS[(a << 8) | b] = group + 1;
}

function wordAt(b: Uint8Array, at: number, end: number, t: Trigger): boolean {
  const w = t.word;
  if (at < 0 || at + w.length > end) return false;
  if (t.exact) {
    for (let i = 0; i < w.length; i++) if (b[at + i] !== w[i]) return false;
  } else {
    for (let i = 0; i < w.length; i++) if (LOWER[b[at + i]!] !== w[i]) return false;
  }
  return true;
}

/**
 * Finds trigger words in `b[from, end)` that end at or after `firstEnd` (words wholly before it were seen with
 * the previous payload). Writes (position, trigger id) pairs into `out` and returns how many it found, at most
 * `out.length / 2`; positions come in increasing order of their anchor.
 */
export function findTriggers(b: Uint8Array, from: number, end: number, firstEnd: number, out: Int32Array): number {
  let n = 0;
  const max = out.length >> 1;
  if (end - from < 2) return 0;
  let prev = b[from]!;
  let j = from + 1;
  // Four pairs per step, one branch for all four: nearly every step finds no anchor (~0.6 % of pairs are one).
  for (; j + 3 < end; j += 4) {
    const c0 = b[j]!;
    const c1 = b[j + 1]!;
    const c2 = b[j + 2]!;
    const c3 = b[j + 3]!;
    if ((ANCHORS[(prev << 8) | c0]! | ANCHORS[(c0 << 8) | c1]! | ANCHORS[(c1 << 8) | c2]! | ANCHORS[(c2 << 8) | c3]!) !== 0) {
      for (let k = j; k < j + 4; k++) {
        const g = ANCHORS[(b[k - 1]! << 8) | b[k]!]!;
        if (g !== 0) {
          n = wordsAt(b, k, g, from, end, firstEnd, out, n);
          if (n === max) return n;
        }
      }
    }
    prev = c3;
  }
  for (; j < end; j++) {
    const c = b[j]!;
    const g = ANCHORS[(prev << 8) | c]!;
    prev = c;
    if (g === 0) continue;
    n = wordsAt(b, j, g, from, end, firstEnd, out, n);
    if (n === max) return n;
  }
  return n;
}

/** The words of anchor group `g` whose anchor pair ends at `j`: appended to `out` from entry `n`; returns the new count. */
function wordsAt(b: Uint8Array, j: number, g: number, from: number, end: number, firstEnd: number, out: Int32Array, n: number): number {
  const max = out.length >> 1;
  for (const t of GROUPS[g - 1]!) {
    const at = j - 1 - t.anchor;
    if (at + t.word.length > firstEnd && at >= from && wordAt(b, at, end, t)) {
      out[2 * n] = at;
      out[2 * n + 1] = t.id;
      if (++n === max) return n;
    }
  }
  return n;
}

/**
 * The order findTriggers reports a word in: by the position of its anchor pair, then by its rank among the words
 * sharing that pair. Lets two lists found over parts of one buffer be merged into what one scan would give.
 */
export function triggerOrder(at: number, id: number): number {
  const t = TRIGGERS[id]!;
  return (at + t.anchor) * 64 + t.rank!;
}
