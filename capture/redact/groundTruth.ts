/**
 * Masks OSProfiler ground truth in a payload, in place, with 'x' (lengths and delimiters kept). Not a secret but
 * the answer the reconstruction is scored against, so it must never be evidence: analysis applies this to every
 * payload (analyze/load/maskGroundTruth.ts), whatever the capture did.
 */

const EX = 0x78; // 'x'

/** OSProfiler's trace context headers. */
const GROUND_TRUTH_HEADERS = ['x-trace-info', 'x-trace-hmac'];
/** OSProfiler ids in RPC contexts and in its own notifications (e.g. written to Redis). */
const GROUND_TRUTH_KEY_PATTERN = '(?:base_id|parent_id|trace_id|hmac_key)';
const GROUND_TRUTH_HINT = /x-trace-|trace_info|base_id|parent_id|trace_id|hmac_key|osprofiler/i;
/** OSProfiler's Redis driver keys its notifications by trace: osprofiler_opt:<base_id>... */
const OSPROFILER_KEY_RULE = /osprofiler[A-Za-z_]*:([0-9A-Fa-f-]{8,})/gid;
/** Value: from after "name:" and spaces to the end of the line (or of the captured bytes). */
const GROUND_TRUTH_HEADER_RULE = new RegExp(`(?:^|\\n)(?:${GROUND_TRUTH_HEADERS.join('|')})[ \\t]*:[ \\t]*([^\\r\\n]*)`, 'gid');
/**
 * A JSON string value of a matching key, in plain JSON ("k": "v") or escaped inside a JSON string, as
 * oslo.messaging nests its message (\"k\": \"v\"). The value stops at the closing quote of its own level.
 */
const GROUND_TRUTH_JSON_RULE = new RegExp(`(\\\\*)"(${GROUND_TRUTH_KEY_PATTERN})\\1"\\s*:\\s*\\1"((?:(?!\\1")[^"])*)`, 'gid');
/** `_context_trace_info`: an object ({...}); masked up to its closing brace (no nested objects inside). */
const TRACE_INFO_RULE = /(\\*)"_context_trace_info\1"\s*:\s*(\{[^}]*\}?|null)/gid;

function fillGroup(payload: Uint8Array, re: RegExp, text: string, group: number, keep?: RegExp): number {
  let hits = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const span = m.indices?.[group];
    if (!span) continue;
    const [start, end] = span;
    for (let i = start; i < end; i++) {
      if (keep && keep.test(text[i]!)) continue;
      payload[i] = EX;
    }
    if (end > start) hits++;
    if (m[0].length === 0) re.lastIndex++;
  }
  return hits;
}

/**
 * Masks X-Trace-Info / X-Trace-HMAC header values, `_context_trace_info` in RPC messages,
 * base_id/parent_id/trace_id/hmac_key string values, and the trace ids in OSProfiler's Redis keys.
 * Returns how many values it masked.
 */
export function maskGroundTruth(payload: Uint8Array): number {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  if (!GROUND_TRUTH_HINT.test(text)) return 0;
  let hits = fillGroup(payload, GROUND_TRUTH_HEADER_RULE, text, 1);
  hits += fillGroup(payload, TRACE_INFO_RULE, text, 2, /[{}\\"]/);
  hits += fillGroup(payload, GROUND_TRUTH_JSON_RULE, text, 3);
  hits += fillGroup(payload, OSPROFILER_KEY_RULE, text, 1);
  return hits;
}
