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
