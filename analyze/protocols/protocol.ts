import type { GappedStream } from './gappedStream.js';
import type { CallRecord, Frame, MessageType, ParseResult, ProtocolName, RecordsWithErrorCount } from './types.js';

/**
 * What a protocol supplies to the analysis (after Pixie's ProtocolTraits): recognise its bytes, frame them, and
 * pair frames into calls. The shared loop (parseFrames.ts) does positions, gaps and resync; the registry
 * (registry.ts) lists every protocol once.
 */
export interface ProtocolSpec<F extends Frame = Frame> {
  name: ProtocolName;
  /**
   * What the first captured bytes of one direction of a connection are: the start of a `request`, of a
   * `response`, or not this protocol (null). Decides which side of the connection is the client.
   */
  classify(head: Uint8Array): MessageType | null;
  /** Frames the bytes at `pos` (see ParseResult for what each case does to the position). */
  parseFrame(stream: GappedStream, pos: number, type: MessageType): ParseResult<F>;
  /** The first position >= `pos` where a frame of `type` plausibly starts, or -1 (used to resync). */
  findFrameBoundary(stream: GappedStream, pos: number, type: MessageType): number;
  /** Pairs requests with responses on one connection; counts what could not be paired. */
  stitch(requests: readonly F[], responses: readonly F[]): RecordsWithErrorCount<CallRecord>;
}
