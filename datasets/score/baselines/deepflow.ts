import type { ObservedEdge, ObservedSpan } from '../observed.js';
import { baselineParents } from './ownership.js';

/**
 * DeepFlow-style (SIGCOMM'23 syscall_trace_id): on each thread, the latest inbound request that is still open
 * (received, not yet answered) when the call starts owns the outbound call.
 */
export function deepflowParents(spans: readonly ObservedSpan[], edges: readonly ObservedEdge[]): Map<string, string> {
  return baselineParents(spans, edges, 'thread', (call, inbound) => {
    let owner: ObservedSpan | null = null;
    for (const r of inbound) {
      if (r.start_us > call.start_us) break;
      if (r.end_us >= call.start_us) owner = r;
    }
    return owner;
  });
}
