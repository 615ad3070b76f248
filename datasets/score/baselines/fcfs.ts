import type { ObservedEdge, ObservedSpan } from '../observed.js';
import { baselineParents } from './ownership.js';

/**
 * FCFS (first come, first served; TraceWeaver's baseline): every outbound call of a process belongs to the
 * earliest-arrived inbound request of that process that is still open when the call starts. No thread ids.
 */
export function fcfsParents(spans: readonly ObservedSpan[], edges: readonly ObservedEdge[]): Map<string, string> {
  return baselineParents(spans, edges, 'process', (call, inbound) => {
    for (const r of inbound) {
      if (r.start_us > call.start_us) break;
      if (r.end_us >= call.start_us) return r;
    }
    return null;
  });
}
