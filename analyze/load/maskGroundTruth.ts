import type { Diagnostics } from '../diagnostics.js';

type Masker = (payload: Uint8Array) => number;
let masker: Masker | null | undefined;

/**
 * Loads capture/redact.ts's maskGroundTruth, which blanks OSProfiler ground truth (X-Trace-Info/X-Trace-HMAC
 * header values, `_context_trace_info`) in place so correlation can never read the answer it is scored on.
 */
export async function loadGroundTruthMasker(diag: Diagnostics): Promise<Masker> {
  if (masker === undefined) {
    // A computed specifier keeps this building while capture/redact.ts is written in parallel.
    const specifier = ['..', '..', 'capture', 'redact.js'].join('/');
    try {
      const mod = (await import(specifier)) as { maskGroundTruth?: Masker };
      masker = typeof mod.maskGroundTruth === 'function' ? mod.maskGroundTruth : null;
    } catch {
      masker = null;
    }
  }
  if (masker === null) {
    diag.warn('ground-truth-unmasked', 'capture/redact.js maskGroundTruth not available: OSProfiler headers are not masked');
    return () => 0;
  }
  return masker;
}
