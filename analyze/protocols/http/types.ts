import type { Frame, MessageType } from '../types.js';

/** One HTTP/1.x request or response (RFC 9112), framed over a possibly gapped stream. */
export interface HttpMessage extends Frame {
  type: MessageType;
  /** Request only: method and request-target as sent; path is the target without query or fragment. */
  method: string | null;
  target: string | null;
  path: string | null;
  /** Response only: status code. */
  status: number | null;
  /** 'HTTP/1.1' or 'HTTP/1.0'. */
  version: string;
  /** Header fields seen, names lowercased, in order; only the captured ones when the head was cut by a gap. */
  headers: [string, string][];
  /** Body length on the wire (for chunked: including chunk framing). */
  bodyLength: number;
  chunked: boolean;
  /**
   * False when the header block was cut by the snaplen: the frame then ends at the next syscall that starts a
   * message of the same type (a guess, counted by the caller), and headers are only those before the cut.
   */
  headComplete: boolean;
  /** The captured body head (up to BODY_SAMPLE_BYTES), for content ids. */
  bodySample: Uint8Array;
}

/** Request header fields whose values link calls across processes (content evidence), lowercased. */
export const HTTP_ID_HEADERS = [
  'x-request-id',
  'x-openstack-request-id',
  'openstack-request-id',
  'x-compute-request-id',
  'x-correlation-id',
  'traceparent',
] as const;

/** Span id field of an OpenStack request id (`req-<uuid>`) found in a captured body head. */
export const BODY_REQUEST_ID_FIELD = 'body:request_id';

/** Id fields of HTTP spans that hold a request id passed along a whole request (the headers' correlation ids and
 * `traceparent` identify other things). */
export const HTTP_REQUEST_ID_FIELDS = ['x-openstack-request-id', 'openstack-request-id', 'x-compute-request-id', 'x-request-id', BODY_REQUEST_ID_FIELD] as const;
