import type { CallRecord, RecordsWithErrorCount } from '../types.js';
import { HTTP_ID_HEADERS, type HttpMessage } from './types.js';

// OpenStack request ids (oslo.context: 'req-' + uuid4) found in bodies, e.g. error payloads or JSON echoes.
const REQ_ID_IN_BODY = /req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const latin1 = new TextDecoder('latin1');

/**
 * Pairs HTTP/1.x requests with responses on one connection. Without pipelining a response answers the latest
 * request sent before it; older requests still waiting then lost their response (counted as errors), so one lost
 * message does not shift every later pair. A response with no request before it is counted and dropped.
 */
export function stitchHttp(requests: readonly HttpMessage[], responses: readonly HttpMessage[]): RecordsWithErrorCount<CallRecord> {
  const records: CallRecord[] = [];
  let errorCount = 0;
  const pending: HttpMessage[] = [];
  let ri = 0;
  const flushUntil = (ts: bigint | null): void => {
    while (ri < requests.length && (ts === null || requests[ri]!.tsStartNs <= ts)) pending.push(requests[ri++]!);
  };
  for (const resp of responses) {
    flushUntil(resp.tsStartNs);
    const req = pending.pop();
    if (!req) {
      errorCount++;
      continue;
    }
    errorCount += pending.length;
    for (const lost of pending.splice(0)) records.push(toRecord(lost, null));
    records.push(toRecord(req, resp));
  }
  flushUntil(null);
  // Requests after the last response: still in flight when capture stopped (not an error) - except older ones.
  errorCount += Math.max(0, pending.length - 1);
  for (const req of pending) records.push(toRecord(req, null));
  records.sort((a, b) => a.req.startPos - b.req.startPos);
  return { records, errorCount };
}

function toRecord(req: HttpMessage, resp: HttpMessage | null): CallRecord {
  const ids: Record<string, string[]> = {};
  const add = (field: string, value: string): void => {
    const list = (ids[field] ??= []);
    if (!list.includes(value)) list.push(value);
  };
  for (const m of resp ? [req, resp] : [req]) {
    for (const [name, value] of m.headers) {
      if ((HTTP_ID_HEADERS as readonly string[]).includes(name) && value !== '') add(name, value);
    }
    for (const id of latin1.decode(m.bodySample).match(REQ_ID_IN_BODY) ?? []) add('body:request_id', id);
  }
  return {
    protocol: 'http',
    method: req.method,
    path: req.path,
    status: resp?.status === null || resp?.status === undefined ? null : String(resp.status),
    req,
    resp,
    ids,
  };
}
