import { stitchAll, type Stitcher, type StitchSink } from '../protocol.js';
import type { CallRecord, RecordsWithErrorCount } from '../types.js';
import { BODY_REQUEST_ID_FIELD, HTTP_ID_HEADERS, type HttpMessage } from './types.js';

// OpenStack request ids (oslo.context: 'req-' + uuid4) found in bodies, e.g. error payloads or JSON echoes.
const REQ_ID_IN_BODY = /req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const latin1 = new TextDecoder('latin1');

/**
 * Pairs HTTP/1.x requests with responses on one connection, as they come. Without pipelining a response answers
 * the latest request sent before it; older requests still waiting then lost their response (counted as errors), so
 * one lost message does not shift every later pair. A response with no request before it is counted; it is still
 * handed on as an `orphan` record (request unseen), which a server side keeps: its thread was already blocked in
 * recv when the capture began.
 */
export function createHttpStitcher(sink: StitchSink): Stitcher<HttpMessage> {
  const pending: HttpMessage[] = [];
  let errorCount = 0;
  return {
    push(frame, type) {
      if (type === 'request') {
        pending.push(frame);
        return;
      }
      const req = pending.pop();
      if (!req) {
        errorCount++;
        sink.call(orphanRecord(frame));
        return;
      }
      errorCount += pending.length;
      for (const lost of pending.splice(0)) sink.call(toRecord(lost, null));
      sink.call(toRecord(req, frame));
    },
    end() {
      // Requests after the last response: still in flight when capture stopped (not an error) - except older ones.
      errorCount += Math.max(0, pending.length - 1);
      for (const req of pending.splice(0)) sink.call(toRecord(req, null));
    },
    get errorCount() {
      return errorCount;
    },
  };
}

/** Batch form of createHttpStitcher (orphan responses left out). */
export function stitchHttp(requests: readonly HttpMessage[], responses: readonly HttpMessage[]): RecordsWithErrorCount<CallRecord> {
  const { records, errorCount } = stitchAll(createHttpStitcher, requests, responses);
  return { records: records.filter((r) => !r.orphan), errorCount };
}

/** A response whose request was not captured: a zero-length request placeholder where the response starts. */
function orphanRecord(resp: HttpMessage): CallRecord {
  const status = resp.status === null ? null : String(resp.status);
  return { protocol: 'http', method: null, path: null, status, req: { ...resp, length: 0, tsEndNs: resp.tsStartNs }, resp, ids: {}, orphan: true };
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
    for (const id of latin1.decode(m.bodySample).match(REQ_ID_IN_BODY) ?? []) add(BODY_REQUEST_ID_FIELD, id);
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
