import type { ObservedEdge, ObservedSpan } from '../observed.js';
import { baselineParents } from './ownership.js';

/**
 * vPath (ATC'09): a thread serves one request at a time, so every outbound call on a thread belongs to the
 * inbound request that thread received last before the call (whether or not that request has answered yet).
 */
export function vpathParents(spans: readonly ObservedSpan[], edges: readonly ObservedEdge[]): Map<string, string> {
  return baselineParents(spans, edges, 'thread', (call, inbound) => {
    let owner: ObservedSpan | null = null;
    for (const r of inbound) {
      if (r.start_us > call.start_us) break;
      owner = r;
    }
    return owner;
  });
}
