import type { CallRecord, Frame } from '../types.js';

/**
 * One MySQL/MariaDB protocol packet: `3-byte little-endian payload length + 1-byte sequence id + payload`
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html). A request (command) is one
 * packet; a response is one packet (OK, ERR, EOF) or many (result set), grouped by the stitcher.
 */
export interface MysqlPacket extends Frame {
  /** Payload length from the header (the frame is 4 bytes longer). */
  payloadLength: number;
  /** Sequence id: 0 for the first packet of a command, +1 for each packet after it, both directions. */
  seq: number;
  /**
   * Packets this frame stands for: 1, or more for a run of row-like packets (see `head`) read by one syscall with
   * sequence ids one after the other (`seq` is the first one's, `payloadLength` too; `length` spans the run).
   */
  frameCount: number;
  /**
   * Captured head of the payload (at most MAX_PAYLOAD_HEAD bytes; shorter if a gap follows). In requests its first
   * byte is the command; in responses the packet type (OK 0x00, ERR 0xff, EOF 0xfe, greeting 0x0a, else a
   * length-encoded integer such as a result set's column count).
   *
   * A response packet after the first of its exchange (sequence id > 1) whose first byte is neither OK, EOF, ERR nor
   * a NULL or multi-byte length (0xfb-0xfd), i.e. a row or column definition of a result set, keeps only that first
   * byte: the stitcher reads no more of it (most packets are such rows: 1.2 M of 1.7 M in the 1 M bench set, each
   * a view of its own before). So do a response's column count (below 0xfb), a 0xfb and a small EOF packet, at any
   * sequence id (parse.ts firstByteOnly).
   */
  head: Uint8Array;
  /** True if some payload bytes were not captured. */
  hasGap: boolean;
}

/** Most payload bytes kept per packet (responses, continuations: types, counts, error texts). */
export const MAX_PAYLOAD_HEAD = 1024;
/**
 * Most payload bytes kept of a command packet: its SQL. SQLAlchemy lists every column before FROM, so nova's
 * SELECTs reach WHERE (the instance UUID, project id the statement is about: correlate/resourceIds.ts) only after
 * 1-2 KB; on the schema-1 compute sample 1 KB hid them in the instance_mappings lookups of every server build.
 * Only the ids are read past MAX_PAYLOAD_HEAD (stitch.ts): paths and verbs come from the first 1 KB as before.
 */
export const MAX_COMMAND_HEAD = 8192;

/** What a response turned out to be, from its first packet. */
export type MysqlResponseKind = 'ok' | 'error' | 'eof' | 'result-set' | 'prepare-ok' | 'unknown';

/** A command with its response: the packets of each side merged into one frame. */
export interface MysqlRecord extends CallRecord {
  protocol: 'mysql';
  /** Command name without the COM_ prefix (QUERY, STMT_EXECUTE, PING, ...). */
  command: string;
  /** The statement's captured head (COM_QUERY, COM_STMT_PREPARE, and COM_STMT_EXECUTE via its prepare), whitespace collapsed; null otherwise. */
  sql: string | null;
  responseKind: MysqlResponseKind | null;
  /** ERR packet fields (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_err_packet.html). */
  errorCode: number | null;
  sqlState: string | null;
  errorMessage: string | null;
  /** Rows of a result set when every packet of it was seen; null otherwise. */
  rowCount: number | null;
  /** Request and response packets in the record (a result set has many). */
  requestPackets: number;
  responsePackets: number;
}
