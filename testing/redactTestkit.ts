/** Test helpers for capture/redact*.test.ts (test code only): one payload, or a stream of payloads, redacted. */
import { PayloadRedactor } from '../capture/redact/payloadRedactor.js';

export function redactOne(text: string): string {
  const b = Buffer.from(text, 'latin1');
  new PayloadRedactor().redact(b);
  return b.toString('latin1');
}

/**
 * Redacts `parts` as consecutive payloads of one stream (connection 7, direction send, contiguous TCP sequence
 * numbers), each whole (not cut), and returns them concatenated.
 */
export function redactStream(parts: string[], r = new PayloadRedactor(), conn = 7, direction = 1): string {
  let seq = 1000;
  let out = '';
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    r.redactStream(b, 0, b.length, conn, direction, b.length, seq);
    seq += b.length;
    out += b.toString('latin1');
  }
  return out;
}

/** `text` cut at every position into two payloads, and into chunks of 1..`maxChunk` bytes. */
export function* splits(text: string, maxChunk = 7): Generator<[string, string[]]> {
  for (let k = 1; k < text.length; k++) yield [`split at ${k}`, [text.slice(0, k), text.slice(k)]];
  for (let size = 1; size <= maxChunk; size++) {
    const parts: string[] = [];
    for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
    yield [`chunks of ${size}`, parts];
  }
}
