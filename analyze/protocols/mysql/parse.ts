/**
 * MySQL/MariaDB packet framing over a gapped stream: one packet per frame. The 4-byte header gives the payload
 * length, so packets are stepped over even when their payload was not captured; grouping packets into responses is
 * the stitcher's job. Spec: https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html
 * (MariaDB: https://mariadb.com/kb/en/0-packet/).
 */
import type { GappedStream } from '../gappedStream.js';
import type { MessageType, ParseResult } from '../types.js';
import { MAX_COMMAND_HEAD, MAX_PAYLOAD_HEAD, type MysqlPacket } from './types.js';

/** 3-byte payload length + 1-byte sequence id. */
export const PACKET_HEADER_LENGTH = 4;
/** A payload of 2^24-1 bytes continues in the next packet (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html#sect_protocol_basic_packets_sending_mt_16mb). */
export const MAX_PACKET_PAYLOAD = 0xffffff;

/** The payload length in the packet header at `bytes[i..]` (3 bytes, little-endian). */
function payloadLengthAt(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16);
}

/** Response packet types, by first payload byte (https://mariadb.com/kb/en/result-set-packets/). */
export const OK_PACKET = 0x00;
export const ERR_PACKET = 0xff;
/** EOF when the payload is shorter than 9 bytes; else a length-encoded integer (https://mariadb.com/kb/en/eof_packet/). */
export const EOF_PACKET = 0xfe;
export const MAX_EOF_PAYLOAD = 8;
/** Protocol version 10, the first byte of the server greeting (https://mariadb.com/kb/en/connection/#initial-handshake-packet). */
export const HANDSHAKE_V10 = 0x0a;

export interface CommandInfo {
  /** Name without the COM_ prefix. */
  name: string;
  /** Bounds on the payload length, command byte included (bytes that break them are not this command). */
  minLength: number;
  maxLength: number;
  /** False for the commands the server does not answer. */
  hasResponse: boolean;
}

const ANY = MAX_PACKET_PAYLOAD;
/**
 * Command bytes (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html,
 * https://mariadb.com/kb/en/2-text-protocol/). A hand table: the codes are fixed and few, and the length bounds
 * (used to reject non-MySQL bytes and to resync) are not in any machine-readable spec.
 */
export const COMMANDS: ReadonlyMap<number, CommandInfo> = new Map([
  [0x01, { name: 'QUIT', minLength: 1, maxLength: 1, hasResponse: false }],
  [0x02, { name: 'INIT_DB', minLength: 1, maxLength: 256, hasResponse: true }],
  [0x03, { name: 'QUERY', minLength: 1, maxLength: ANY, hasResponse: true }],
  [0x04, { name: 'FIELD_LIST', minLength: 2, maxLength: ANY, hasResponse: true }],
  [0x05, { name: 'CREATE_DB', minLength: 1, maxLength: 256, hasResponse: true }],
  [0x06, { name: 'DROP_DB', minLength: 1, maxLength: 256, hasResponse: true }],
  [0x07, { name: 'REFRESH', minLength: 2, maxLength: 2, hasResponse: true }],
  [0x08, { name: 'SHUTDOWN', minLength: 1, maxLength: 2, hasResponse: true }],
  [0x09, { name: 'STATISTICS', minLength: 1, maxLength: 1, hasResponse: true }],
  [0x0a, { name: 'PROCESS_INFO', minLength: 1, maxLength: 1, hasResponse: true }],
  [0x0c, { name: 'PROCESS_KILL', minLength: 5, maxLength: 5, hasResponse: true }],
  [0x0d, { name: 'DEBUG', minLength: 1, maxLength: 1, hasResponse: true }],
  [0x0e, { name: 'PING', minLength: 1, maxLength: 1, hasResponse: true }],
  [0x11, { name: 'CHANGE_USER', minLength: 2, maxLength: ANY, hasResponse: true }],
  [0x12, { name: 'BINLOG_DUMP', minLength: 11, maxLength: ANY, hasResponse: true }],
  [0x16, { name: 'STMT_PREPARE', minLength: 1, maxLength: ANY, hasResponse: true }],
  [0x17, { name: 'STMT_EXECUTE', minLength: 10, maxLength: ANY, hasResponse: true }],
  [0x18, { name: 'STMT_SEND_LONG_DATA', minLength: 7, maxLength: ANY, hasResponse: false }],
  [0x19, { name: 'STMT_CLOSE', minLength: 5, maxLength: 5, hasResponse: false }],
  [0x1a, { name: 'STMT_RESET', minLength: 5, maxLength: 5, hasResponse: true }],
  [0x1b, { name: 'SET_OPTION', minLength: 3, maxLength: 3, hasResponse: true }],
  [0x1c, { name: 'STMT_FETCH', minLength: 9, maxLength: 9, hasResponse: true }],
  [0x1f, { name: 'RESET_CONNECTION', minLength: 1, maxLength: 1, hasResponse: true }],
  [0xfa, { name: 'STMT_BULK_EXECUTE', minLength: 7, maxLength: ANY, hasResponse: true }], // MariaDB only
]);

/** 0xfb: NULL in a row; 0xfb-0xfd begin longer length-encoded integers (https://mariadb.com/kb/en/protocol-data-types/). */
const LENGTH_ENCODED_NULL = 0xfb;

/** The head of a row-like response packet whose first byte is b: FIRST_BYTES[b] (shared, never written). */
const FIRST_BYTES = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));

/** parseFrame's copy of a packet's header and first payload byte (parsing is synchronous: one is enough). */
const HEADER = new Uint8Array(PACKET_HEADER_LENGTH + 1);

/**
 * Parses the packet at `pos`. A request packet with sequence id 0 starts a command and must carry a known command
 * byte with a length in its bounds; request packets with other ids (handshake response, auth data, continuations)
 * and every response packet are framed by length alone.
 */
export function parseFrame(type: MessageType, stream: GappedStream, pos: number): ParseResult<MysqlPacket> {
  // The header and the command byte, copied (a view per packet cost more: a result set is one packet per row).
  const header = HEADER;
  const captured = stream.peek(pos, header);
  if (captured < PACKET_HEADER_LENGTH) {
    if (pos + PACKET_HEADER_LENGTH > stream.length && captured === stream.length - pos) return { state: 'needs-more-data' };
    return { state: 'invalid', reason: 'mysql: packet header not captured' };
  }
  const payloadLength = payloadLengthAt(header, 0);
  const seq = header[3]!;
  if (type === 'request' && seq === 0) {
    if (payloadLength === 0) return { state: 'invalid', reason: 'mysql: empty command packet' };
    if (captured < PACKET_HEADER_LENGTH + 1) {
      if (pos + PACKET_HEADER_LENGTH >= stream.length) return { state: 'needs-more-data' };
      return { state: 'invalid', reason: 'mysql: command byte not captured' };
    }
    const command = COMMANDS.get(header[PACKET_HEADER_LENGTH]!);
    if (command === undefined) return { state: 'invalid', reason: `mysql: unknown command 0x${header[4]!.toString(16)}` };
    if (payloadLength < command.minLength || payloadLength > command.maxLength)
      return { state: 'invalid', reason: `mysql: ${command.name} with payload length ${payloadLength}` };
  }
  let length = PACKET_HEADER_LENGTH + payloadLength;
  if (pos + length > stream.length) return { state: 'needs-more-data' };
  const keep = Math.min(payloadLength, type === 'request' && seq === 0 ? MAX_COMMAND_HEAD : MAX_PAYLOAD_HEAD);
  // A row or column definition of a result set keeps only its first byte (see MysqlPacket.head): no view per packet.
  const first = header[PACKET_HEADER_LENGTH]!;
  const firstCaptured = type === 'response' && payloadLength > 0 && captured > PACKET_HEADER_LENGTH;
  const rowLike = firstCaptured && seq > 1 && first !== OK_PACKET && first < LENGTH_ENCODED_NULL;
  const head = rowLike || (firstCaptured && firstByteOnly(first, payloadLength)) ? FIRST_BYTES[first]! : stream.contiguousAt(pos + PACKET_HEADER_LENGTH, keep);
  const packets = rowLike ? rowRunLength(stream, pos, length, seq) : null;
  if (packets !== null) length = packets.length;
  return {
    state: 'ok',
    length,
    frame: {
      startPos: pos,
      tsStartNs: stream.tsAt(pos),
      tsEndNs: stream.tsAt(pos + length - 1),
      tid: stream.tidAt(pos),
      length,
      payloadLength,
      seq,
      frameCount: packets?.count ?? 1,
      head,
      // (A payload head shorter than `keep` is a gap inside the packet too: isCaptured sees it.)
      hasGap: !stream.isCaptured(pos, length),
      // Set by the frame reader; named here so that they live in the object (added later, they need a store of
      // their own: one more allocation per packet).
      tcpSeq: null,
      pid: undefined,
      gid: null,
    },
  };
}

/**
 * True if the stitcher reads no more than the first payload byte of a response packet that begins with `first`
 * (stitch.ts): a result set's column count below 0xfb (one byte), a NULL-length 0xfb, or an EOF (0xfe, at most
 * MAX_EOF_PAYLOAD bytes). OK (a prepare's statement id), ERR (code, state, message) and longer length-encoded
 * integers keep their head. The first response packet of most queries and the EOFs that close a result set's
 * columns and rows: no view per packet.
 */
function firstByteOnly(first: number, payloadLength: number): boolean {
  if (first === EOF_PACKET) return payloadLength <= MAX_EOF_PAYLOAD;
  return first !== OK_PACKET && first <= LENGTH_ENCODED_NULL;
}

/** What rowRunLength found (shared, never kept: parsing is synchronous). */
const ROW_RUN = { count: 1, length: 0 };

/**
 * The row-like response packet at `pos` (`length` bytes, sequence id `seq`) and the row-like packets that follow it
 * in the captured bytes of the same syscall, with sequence ids one after the other, as one frame: how many packets
 * and their length; null if no packet follows so. The stitcher only counts such packets (MysqlPacket.frameCount),
 * and packets read by one syscall have the same times, so a merged run is stitched as its packets would be, one
 * after the other (1 M bench set: 1.2 M of 1.47 M response packets are rows, most of them read many per syscall).
 * Each packet is checked here from the syscall's own bytes: no header copy, view or frame per packet.
 */
function rowRunLength(stream: GappedStream, pos: number, length: number, seq: number): typeof ROW_RUN | null {
  const i = stream.chunkIndexAt(pos);
  const data = stream.chunk(i).data;
  const start = pos - stream.chunkStart(i);
  let at = start + length;
  let count = 1;
  let s = seq;
  // A packet merged is wholly captured in this syscall: header, first byte (row-like) and payload.
  while (at + PACKET_HEADER_LENGTH < data.length) {
    const n = payloadLengthAt(data, at);
    const b = data[at + PACKET_HEADER_LENGTH]!;
    if (data[at + 3] !== s + 1 || n === 0 || b === OK_PACKET || b >= LENGTH_ENCODED_NULL || at + PACKET_HEADER_LENGTH + n > data.length) break;
    at += PACKET_HEADER_LENGTH + n;
    count++;
    s++;
  }
  if (count === 1) return null;
  ROW_RUN.count = count;
  ROW_RUN.length = at - start;
  return ROW_RUN;
}

/** True if the captured bytes at `bytes[i..]` plausibly start a command packet (Pixie's FindFrameBoundary test). */
function looksLikeCommand(bytes: Uint8Array, i: number): boolean {
  if (i + PACKET_HEADER_LENGTH >= bytes.length) return false;
  if (bytes[i + 3] !== 0) return false;
  const command = COMMANDS.get(bytes[i + 4]!);
  if (command === undefined) return false;
  const length = payloadLengthAt(bytes, i);
  return length >= command.minLength && length <= command.maxLength;
}

/** True if the bytes start the first packet of a response (sequence 1) or a server greeting (sequence 0). */
function looksLikeResponseStart(bytes: Uint8Array): boolean {
  if (bytes.length < PACKET_HEADER_LENGTH + 1) return false;
  const length = payloadLengthAt(bytes, 0);
  const seq = bytes[3]!;
  const first = bytes[4]!;
  if (length === 0) return false;
  if (seq === 0) return first === HANDSHAKE_V10;
  if (seq !== 1) return false;
  if (first === OK_PACKET) return length >= 7;
  if (first === ERR_PACKET) return length >= 3;
  if (first === EOF_PACKET) return length <= MAX_EOF_PAYLOAD;
  return first <= 0xfa && length <= 9; // a result set's column count (length-encoded integer)
}

/**
 * Where a frame may start at or after `from`, or -1. Requests: any captured position that looks like a command
 * header (as Pixie does). Responses: only syscall starts that look like the first packet of a response, since a
 * row packet cannot be told from the middle of another one; the stitcher ends responses at the next command anyway.
 */
export function findFrameBoundary(type: MessageType, stream: GappedStream, from: number): number {
  let p = Math.max(0, from);
  if (type === 'response') {
    let c = p === 0 || stream.nextChunkStart(p - 1) === p ? p : stream.nextChunkStart(p);
    while (c >= 0 && c < stream.length) {
      // The header and first byte must be in that syscall's own captured bytes: the last bytes of a long result
      // set read by a short syscall, followed by the next response's first packet, would otherwise read as a huge
      // OK packet (seen: a 3-byte read `00 21 00` + `01 00 00 01 09` = "OK, 8448 bytes" that swallowed 14 KB of
      // later responses on nova-conductor, with 2048-byte heads of an 8 KB result set).
      if (stream.chunkAt(c).data.length > PACKET_HEADER_LENGTH && looksLikeResponseStart(stream.contiguousAt(c, 16))) return c;
      c = stream.nextChunkStart(c);
    }
    return -1;
  }
  while (p < stream.length) {
    const run = stream.contiguousAt(p, 4096);
    if (run.length === 0) {
      p = stream.nextChunkStart(p);
      if (p < 0) return -1;
      continue;
    }
    for (let i = 0; i < run.length; i++) if (looksLikeCommand(run, i)) return p + i;
    // Overlap by a header so that one cut by the 4096-byte window is still seen.
    p += Math.max(1, run.length - PACKET_HEADER_LENGTH);
  }
  return -1;
}

/**
 * Whether a connection's first bytes in direction `type` look like MySQL: the server greeting (protocol 10) for
 * responses; for requests a handshake response (sequence 1) or a command (sequence 0). Port 3306 is only a hint.
 */
export function detect(head: Uint8Array, type: MessageType): boolean {
  if (head.length < PACKET_HEADER_LENGTH + 1) return false;
  const length = payloadLengthAt(head, 0);
  const seq = head[3]!;
  if (type === 'response') {
    // Greeting: 0x0a, then a NUL-terminated server version of printable characters.
    if (seq !== 0 || head[4] !== HANDSHAKE_V10 || length < 20) return false;
    const end = head.indexOf(0, 5);
    if (end < 6) return false;
    for (let i = 5; i < end; i++) if (head[i]! < 0x20 || head[i]! > 0x7e) return false;
    return true;
  }
  if (seq === 1) {
    // HandshakeResponse41: capabilities (CLIENT_PROTOCOL_41 set), max packet, charset, then 23 zero filler bytes.
    const CLIENT_PROTOCOL_41 = 0x200;
    if (length < 32 || length >= 4096 || head.length < 36 || !((head[4]! | (head[5]! << 8)) & CLIENT_PROTOCOL_41)) return false;
    for (let i = 13; i < 36; i++) if (head[i] !== 0) return false;
    return true;
  }
  return looksLikeCommand(head, 0) && head[4] !== 0x01;
}
