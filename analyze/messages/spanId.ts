import { createHash } from 'node:crypto';

/** 16 lowercase hex chars from the parts: the same input always gives the same span id. */
export function spanId(...parts: readonly (string | number | bigint | null)[]): string {
  return createHash('sha256').update(parts.map(String).join('|')).digest('hex').slice(0, 16);
}

/** 32 lowercase hex chars for the trace rooted at `rootSpanId`. */
export function traceId(rootSpanId: string): string {
  return createHash('sha256').update(`trace|${rootSpanId}`).digest('hex').slice(0, 32);
}
