import { maskGroundTruth } from '../../capture/redact.js';

/**
 * Blanks OSProfiler ground truth (X-Trace-Info/X-Trace-HMAC header values, `_context_trace_info`, ...) in place,
 * same length, before any parser sees the payload: correlation must never read the answer it is scored on.
 * Returns how many values it masked. The capture masks too; this also covers captures made with --no-redact.
 */
export function maskPayload(payload: Uint8Array): number {
  if (payload.length < 7) return 0;
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  // Most payloads carry none of the ground truth's names: a few native substring searches rule them out before the
  // text is decoded and matched.
  for (const hint of GROUND_TRUTH_HINTS) if (b.indexOf(hint) >= 0) return maskGroundTruth(payload);
  return 0;
}

/** Substrings every ground-truth value masked by maskGroundTruth sits next to (its header or key names). */
const GROUND_TRUTH_HINTS = ['race', 'RACE', 'base_id', 'parent_id', 'hmac', 'HMAC', 'rofiler', 'ROFILER'].map((s) => Buffer.from(s, 'latin1'));
