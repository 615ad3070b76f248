import { maskGroundTruth } from '../../capture/redact.js';

/**
 * Blanks OSProfiler ground truth (X-Trace-Info/X-Trace-HMAC header values, `_context_trace_info`, ...) in place,
 * same length, before any parser sees the payload: correlation must never read the answer it is scored on.
 * Returns how many values it masked. The capture masks too; this also covers captures made with --no-redact.
 */
export function maskPayload(payload: Uint8Array): number {
  if (payload.length < 7) return 0;
  // Most payloads carry none of the ground truth's names: one scan for them rules them out before the text is
  // decoded and matched (one pass in JS costs less than a native substring search per name per payload).
  return holdsHint(payload) ? maskGroundTruth(payload) : 0;
}

/**
 * maskPayload over every payload of a block at once: row i is `bytes[offsets[i], offsets[i + 1])`. One regular
 * expression search over runs of whole rows (as latin1 text) finds the hints; a row is matched (maskGroundTruth) when
 * a hint lies wholly inside it and it is long enough for maskPayload, so the rows masked are the ones maskPayload
 * masks (a hint cut across two rows is in neither), and the search goes on after the row. Measured on the 1 M bench
 * set's payloads (199 MB, 36 649 rows with a hint; loaded 2-core machine, load ~13): 0.25-0.28 s CPU against
 * 0.42-0.43 s for the former eight native substring searches, which also scanned each row found once more for a
 * hint (holdsHint) before matching it. Returns how many values it masked.
 */
export function maskPayloads(bytes: Uint8Array, offsets: Uint32Array, rows: number): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, offsets[rows]!);
  let masked = 0;
  // A hint counts only wholly inside one row, so runs of whole rows are searched one at a time with the same result
  // as the whole block; a run stays under TEXT_RUN_BYTES (a row longer than that is a run of its own).
  for (let first = 0; first < rows; ) {
    let end = first + 1;
    while (end < rows && offsets[end + 1]! - offsets[first]! <= TEXT_RUN_BYTES) end++;
    masked += maskRun(bytes, buffer, offsets, first, end);
    first = end;
  }
  return masked;
}

/**
 * Bytes of payload decoded to one string at a time. A string past V8's largest regular object (128 KiB) is made in
 * its large-object space, which cost ~20 times as much per byte (node 20, 400 KiB strings: 0.8 s per 200 MB, against
 * 0.04 s at 64 KiB): decoding whole 2048-row blocks (~400 KB) was ~1.0 s of the reader's ~5 s at 1 M events.
 */
const TEXT_RUN_BYTES = 64 * 1024;

/** maskPayloads over the rows [first, end). */
function maskRun(bytes: Uint8Array, buffer: Buffer, offsets: Uint32Array, first: number, end: number): number {
  const base = offsets[first]!;
  const text = buffer.toString('latin1', base, offsets[end]!);
  const re = HINT_RULE;
  re.lastIndex = 0;
  let masked = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const at = base + m.index;
    const row = rowAt(offsets, first, end, at);
    const rowStart = offsets[row]!;
    const rowEnd = offsets[row + 1]!;
    if (at + m[0].length > rowEnd) {
      re.lastIndex = m.index + 1;
      continue;
    }
    if (rowEnd - rowStart >= MIN_MASKED_LENGTH) masked += maskGroundTruth(bytes.subarray(rowStart, rowEnd));
    re.lastIndex = rowEnd - base;
  }
  return masked;
}

/** Shortest payload maskPayload looks at. */
const MIN_MASKED_LENGTH = 7;

/** The row of [first, end) whose bytes hold position `at` (offsets ascending; empty rows never hold a position). */
function rowAt(offsets: Uint32Array, first: number, end: number, at: number): number {
  let lo = first;
  let hi = end - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Substrings every ground-truth value masked by maskGroundTruth sits next to (its header or key names). */
const GROUND_TRUTH_HINTS = ['race', 'RACE', 'base_id', 'parent_id', 'hmac', 'HMAC', 'rofiler', 'ROFILER'].map((s) => Buffer.from(s, 'latin1'));

/** The hints by first byte. */
const HINTS_BY_FIRST: (Uint8Array[] | undefined)[] = [];
for (const h of GROUND_TRUTH_HINTS) (HINTS_BY_FIRST[h[0]!] ??= []).push(h);

/** True if any hint occurs in `p`. */
function holdsHint(p: Uint8Array): boolean {
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const hints = HINTS_BY_FIRST[p[i]!];
    if (hints === undefined) continue;
    for (const h of hints) {
      if (i + h.length > n) continue;
      let k = 1;
      while (k < h.length && p[i + k] === h[k]) k++;
      if (k === h.length) return true;
    }
  }
  return false;
}

/** Any hint (they are plain letters and underscores: nothing to escape). */
const HINT_RULE = new RegExp(GROUND_TRUTH_HINTS.map((h) => h.toString('latin1')).join('|'), 'g');
