import type { ColumnBatch, TableSchema } from '../engine/columns.js';
import type { GappedStream } from './gappedStream.js';
import type { CallRecord, Frame, MessageType, ParseResult, ProtocolName, RecordsWithErrorCount } from './types.js';

/** What a call into a protocol's server is, as the kind of the edge that leads to it (docs/analysis-schema.md). */
export type EdgeKind = 'http' | 'db' | 'cache' | 'rpc';

/**
 * What an id in a call names, decided where it is extracted (correlate/resourceIds.ts reads it, never the value's
 * shape): `uuid` a resource (instance, image, port...), `keystone_id` whom a request is for (a project or user: shared
 * by every request of a tenant, so it can only tell tenants apart), `row_id` one database row, as
 * `row:<object>#<id>` (an RPC head's serialised versioned object and its primary key, a statement's `<table>.id = N`).
 */
export type ResourceIdKind = 'uuid' | 'keystone_id' | 'row_id';

/**
 * A protocol whose connections are pooled and lent to one worker at a time (a database client's connection pool):
 * the paths (normalised request text) that begin a loan and the ones that end it. correlate/dbSession.ts gives every
 * call of one loan a single owner.
 */
export interface PooledSessions {
  /** A call with one of these paths begins a session (oslo.db's checkout ping). */
  begin: readonly string[];
  /** A call with one of these paths ends one (SQLAlchemy's checkin); the call after it begins the next. */
  end: readonly string[];
}

/**
 * Pairs the frames of one connection into calls as they are parsed. Frames arrive in the order their first bytes
 * were moved (requests before responses at equal times), each direction in stream order; `end()` says no more will
 * come. Records are handed to the sink in request order, as soon as they are final.
 */
export interface Stitcher<F extends Frame> {
  push(frame: F, type: MessageType): void;
  end(): void;
  /** Frames that could not be paired (counted, never thrown). */
  readonly errorCount: number;
}

/** Where a stitcher's output goes: calls (both sides of a request/response protocol) or protocol messages. */
export interface StitchSink<M = never> {
  call(record: CallRecord): void;
  message(message: M): void;
}

/** A messaging protocol's own table (AMQP messages), filled instead of call spans. */
export interface MessageTable<M> {
  table: string;
  schema: TableSchema;
  /** Appends one message, seen on the connection `conn` (conn_idx etc., as the connection driver knows it). */
  write(message: M, conn: ConnectionFacts, batch: ColumnBatch): void;
}

/** What the connection driver knows of the connection a message was seen on. */
export interface ConnectionFacts {
  connIdx: number;
  node: string;
  /** True if this process is the protocol's client on this connection (it sent the first request). */
  client: boolean;
}

/**
 * What a protocol supplies to the analysis (after Pixie's ProtocolTraits): recognise its bytes, frame them, pair
 * frames into calls, and the facts about it the rest of the analysis needs (edge kind, well-known ports). The
 * shared loop (parseFrames.ts) does positions, gaps and resync; the registry (registry.ts) lists every protocol
 * once. Nothing outside a protocol's folder knows which protocol it is.
 */
export interface ProtocolSpec<F extends Frame = Frame, M = never> {
  name: ProtocolName;
  edgeKind: EdgeKind;
  /**
   * Well-known server ports (IANA / vendor defaults), used only when a connection's first captured bytes are not
   * recognised: a connection already open when the capture began shows no handshake and may start mid-frame.
   */
  defaultPorts: readonly number[];
  /**
   * Span id fields (`span_ids.field`) of this protocol's spans that hold a request id: one id an application passes
   * along a whole request, across processes (OpenStack's `req-<uuid>`). correlate/requestIds.ts follows them.
   */
  requestIdFields: readonly string[];
  /**
   * Span id fields of this protocol's calls that name the resources a call is about, with what each names
   * (correlate/resourceIds.ts). Fields of kind `row_id` name a database row, an id no request carries along: the
   * parse keeps them out of `span_ids` (so out of content evidence and the spans' `request_ids`), in `span_row_ids`.
   */
  resourceIdFields: Readonly<Record<string, ResourceIdKind>>;
  /** The path of a call names the resources it is about (REST URLs: `/servers/<uuid>`): correlate/resourceIds.ts. */
  resourcePaths: boolean;
  /** Connections lent to one worker at a time, from `begin` to `end` (SQL sessions): correlate/dbSession.ts. */
  pooledSessions?: PooledSessions;
  /**
   * What the first captured bytes of one direction of a connection are: the start of a `request`, of a
   * `response`, or not this protocol (null). Decides which side of the connection is the client.
   */
  classify(head: Uint8Array): MessageType | null;
  /** Frames the bytes at `pos` (see ParseResult for what each case does to the position). */
  parseFrame(stream: GappedStream, pos: number, type: MessageType): ParseResult<F>;
  /** The first position >= `pos` where a frame of `type` plausibly starts, or -1 (used to resync). */
  findFrameBoundary(stream: GappedStream, pos: number, type: MessageType): number;
  /** A stitcher for one connection. */
  createStitcher(sink: StitchSink<M>): Stitcher<F>;
  /**
   * Messaging protocols only: where their messages go. A messaging protocol's spans come from messages through a
   * broker (analyze/messaging/): `producer`/`consumer` on the wire, `client` for an RPC call or cast made (`rpc_kind`),
   * `server` for one handled, each with `msg_idx` and `broker`; the correlators ask for these by this field.
   */
  messages?: MessageTable<M>;
}

/**
 * Feeds whole request and response lists to a stitcher in the order the connection driver would (by start time,
 * requests first at equal times) and collects what it emits: the batch form tests and small tools use.
 */
export function stitchAll<F extends Frame, M = never>(
  create: (sink: StitchSink<M>) => Stitcher<F>,
  requests: readonly F[],
  responses: readonly F[],
): RecordsWithErrorCount<CallRecord> & { messages: M[] } {
  const records: CallRecord[] = [];
  const messages: M[] = [];
  const s = create({ call: (r) => records.push(r), message: (m) => messages.push(m) });
  let i = 0;
  let j = 0;
  while (i < requests.length || j < responses.length) {
    const takeRequest = j >= responses.length || (i < requests.length && requests[i]!.tsStartNs <= responses[j]!.tsStartNs);
    if (takeRequest) s.push(requests[i++]!, 'request');
    else s.push(responses[j++]!, 'response');
  }
  s.end();
  return { records, errorCount: s.errorCount, messages };
}
