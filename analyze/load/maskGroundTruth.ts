import { maskGroundTruth } from '../../capture/redact.js';

/**
 * Blanks OSProfiler ground truth (X-Trace-Info/X-Trace-HMAC header values, `_context_trace_info`, ...) in place,
 * same length, before any parser sees the payload: correlation must never read the answer it is scored on.
 * Returns how many values it masked. The capture masks too; this also covers captures made with --no-redact.
 */
export function maskPayload(payload: Uint8Array): number {
  return maskGroundTruth(payload);
}
