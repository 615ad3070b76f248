/**
 * Shapes shared by every protocol parser (analyze/protocols/<proto>/{types,parse,stitch}.ts).
 *
 * Pipeline per connection direction: captured syscalls -> `Chunk`s -> `GappedStream` -> `parseFrames`
 * (framing only) -> protocol `stitch` (pairing requests with responses) -> `CallRecord`s.
 * Neither parse nor stitch knows about Parquet or engines.
 */

/** Protocols nitrace parses. Every one is registered once in analyze/protocols/registry.ts. */
export type ProtocolName = 'http' | 'mysql' | 'amqp' | 'redis' | 'kafka' | 'memcached';

/** Which way a message travels on a connection: the side that opened the call sends `request`s. */
export type MessageType = 'request' | 'response';

/**
 * One syscall's bytes on one direction of one connection, in order. `data` holds only the captured head
 * (`--snaplen`); the other `bytes - data.length` bytes were moved but not recorded (a gap).
 */
export interface Chunk {
  /** Wall-clock ns of the syscall's exit. bigint: epoch ns exceed 2^53. */
  tsNs: bigint;
  /** Thread that made the syscall. */
  tid: number;
  /** Bytes the syscall moved (>= data.length). */
  bytes: number;
  /** Captured head of those bytes, secrets redacted, ground-truth headers masked. */
  data: Uint8Array;
  /**
   * TCP sequence number of the first byte moved, mod 2^32 (the sequence space; a Number: no BigInt per syscall),
   * null if unknown.
   */
  tcpSeq?: number | null;
  /** Process that made the syscall. */
  pid?: number;
  /** Green thread (greenlet) running when the syscall was made (capture schema v2; null if unknown). */
  gid?: bigint | null;
}

/**
 * What a parser returns for the bytes at one position (after Pixie's ParseState). What each case means for the
 * caller's position in the stream:
 * - `ok`: a frame spans `length` stream bytes (captured or not) from the position; advance by `length`.
 * - `needs-more-data`: the frame goes on past the end of the captured stream; consume nothing (at the end of
 *   the capture the rest is counted as incomplete).
 * - `ignored`: `length` bytes that carry no frame (heartbeats, keep-alive noise); advance by `length`.
 * - `invalid`: these bytes are not a frame of this protocol; resync with `findFrameBoundary`.
 */
export type ParseResult<F> =
  | { state: 'ok'; frame: F; length: number }
  | { state: 'needs-more-data' }
  | { state: 'ignored'; length: number }
  | { state: 'invalid'; reason: string };

/** Common fields of every parsed frame; protocols extend it. */
export interface Frame {
  /** Stream offset of the frame's first byte. */
  startPos: number;
  /** Exit time of the syscall holding the first byte / the last byte. */
  tsStartNs: bigint;
  tsEndNs: bigint;
  /** Thread of the syscall holding the first byte. */
  tid: number;
  /** Frame size on the wire, including bytes not captured. */
  length: number;
  /**
   * Frames of the protocol this one stands for (absent: 1): a parser may merge frames the stitcher only counts
   * (MySQL's result set rows). Counted as that many frames in the diagnostics.
   */
  frameCount?: number;
  /**
   * Where the frame's first byte came from, set by the frame reader (frameReader.ts) while its syscall is still
   * retained: TCP sequence number, process and green thread of that syscall.
   */
  tcpSeq?: number | null;
  pid?: number;
  gid?: bigint | null;
}

/** A request with its response (null if none was seen), the unit that becomes one span per side. */
export interface CallRecord {
  protocol: ProtocolName;
  /** HTTP method, SQL verb, AMQP class.method, Redis command. */
  method: string | null;
  /** HTTP path without query, SQL text head, exchange/routing key, Redis key. */
  path: string | null;
  /** HTTP status code, 'ok' or 'error' for others, null without response. */
  status: string | null;
  req: Frame;
  resp: Frame | null;
  /** Ids found in request or response that can link calls across processes (content evidence), by field name. */
  ids: Record<string, string[]>;
  /** A response whose request was not captured (`req` is a zero-length placeholder where it starts). */
  orphan?: boolean;
}

/** What a stitcher returns (Pixie's RecordsWithErrorCount): errors are counted, never thrown. */
export interface RecordsWithErrorCount<R> {
  records: R[];
  errorCount: number;
}
