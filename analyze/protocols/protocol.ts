import type { ColumnBatch, TableSchema } from '../engine/columns.js';
import type { GappedStream } from './gappedStream.js';
import type { CallRecord, Frame, MessageType, ParseResult, ProtocolName, RecordsWithErrorCount } from './types.js';

/** What a call into a protocol's server is, as the kind of the edge that leads to it (docs/analysis-schema.md). */
export type EdgeKind = 'http' | 'db' | 'cache' | 'rpc';

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
  /** Messaging protocols only: where their messages go. */
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
