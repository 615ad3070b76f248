/**
 * Groups MySQL packets into commands and responses and pairs them. The protocol is strictly request/response per
 * connection (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html): a client sends
 * the next command only after the whole response, so a response is every server packet from its command up to the
 * next command. That holds even when gaps hid the structure of a large result set.
 */
import type { Frame, RecordsWithErrorCount } from '../types.js';
import { COMMANDS, EOF_PACKET, ERR_PACKET, MAX_EOF_PAYLOAD, MAX_PACKET_PAYLOAD, OK_PACKET, type CommandInfo } from './parse.js';
import type { MysqlPacket, MysqlRecord, MysqlResponseKind } from './types.js';

const COM_QUERY = 0x03;
const COM_INIT_DB = 0x02;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
/** `path` keeps this many characters of normalised SQL. */
export const MAX_PATH_CHARS = 200;

const utf8 = new TextDecoder('utf-8');

/** Little-endian unsigned integer of `n` bytes at `at` (null if not captured). */
function readUint(bytes: Uint8Array, at: number, n: number): number | null {
  if (at + n > bytes.length) return null;
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[at + i]!;
  return v;
}

/** Length-encoded integer (https://mariadb.com/kb/en/protocol-data-types/#length-encoded-integers). */
function readLengthEncoded(bytes: Uint8Array, at: number): number | null {
  const first = bytes[at];
  if (first === undefined) return null;
  if (first < 0xfb) return first;
  if (first === 0xfc) return readUint(bytes, at + 1, 2);
  if (first === 0xfd) return readUint(bytes, at + 1, 3);
  if (first === 0xfe) return readUint(bytes, at + 1, 8);
  return null;
}

/** Statement text with whitespace runs collapsed (the captured head only). */
export function sqlText(payloadAfterCommand: Uint8Array): string {
  return utf8.decode(payloadAfterCommand).replace(/\s+/g, ' ').trim();
}

const LEADING_COMMENTS = /^(\s|\/\*[\s\S]*?\*\/|--[^\n]*\n|#[^\n]*\n)+/;
/** The statement's verb (SELECT, INSERT, BEGIN, ...), upper case; null if none is visible. */
export function sqlVerb(sql: string): string | null {
  const m = /^[(\s]*([A-Za-z]+)/.exec(sql.replace(LEADING_COMMENTS, ''));
  return m ? m[1]!.toUpperCase() : null;
}

/**
 * SQL with literals replaced by `?` (quoted strings, numbers, hex) and whitespace collapsed, cut to
 * MAX_PATH_CHARS: statements that differ only in values share a path. A string cut by the capture counts as one literal.
 */
export function normaliseSql(sql: string): string {
  return sql
    .replace(LEADING_COMMENTS, '')
    .replace(/'(?:[^'\\]|\\[\s\S]|'')*(?:'|$)/g, '?')
    .replace(/"(?:[^"\\]|\\[\s\S]|"")*(?:"|$)/g, '?')
    .replace(/\b0x[0-9a-fA-F]+\b/g, '?')
    .replace(/(?<![\w.$`])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_PATH_CHARS);
}

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const REQUEST_ID = /\breq-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/**
 * Ids in a statement that other calls may carry too: OpenStack request ids (`req-<uuid>`, e.g. nova's
 * instance_actions rows) and other UUIDs (instances, projects...) under `sql_uuid`.
 */
export function sqlIds(sql: string): Record<string, string[]> {
  const ids: Record<string, string[]> = {};
  const requestIds = [...new Set(sql.match(REQUEST_ID) ?? [])].map((s) => s.toLowerCase());
  if (requestIds.length > 0) ids['request_id'] = requestIds;
  const withoutRequestIds = sql.replace(REQUEST_ID, '');
  const uuids = [...new Set((withoutRequestIds.match(UUID) ?? []).map((s) => s.toLowerCase()))];
  if (uuids.length > 0) ids['sql_uuid'] = uuids;
  return ids;
}

/** One frame spanning packets (first to last, in stream order). */
function spanOf(packets: readonly MysqlPacket[]): Frame {
  const first = packets[0]!;
  const last = packets[packets.length - 1]!;
  return {
    startPos: first.startPos,
    tsStartNs: first.tsStartNs,
    tsEndNs: last.tsEndNs,
    tid: first.tid,
    length: last.startPos + last.length - first.startPos,
  };
}

function isTerminator(p: MysqlPacket): boolean {
  return (p.head[0] === EOF_PACKET && p.payloadLength < MAX_PACKET_PAYLOAD) || p.head[0] === ERR_PACKET;
}

interface ResponseSummary {
  kind: MysqlResponseKind;
  error: { code: number | null; sqlState: string | null; message: string | null } | null;
  rowCount: number | null;
  stmtId: number | null;
}

function errorOf(p: MysqlPacket): NonNullable<ResponseSummary['error']> {
  // ERR: 0xff, error code (2), then '#' + 5-byte SQLSTATE, then the message.
  const h = p.head;
  const hasState = h[3] === 0x23;
  return {
    code: readUint(h, 1, 2),
    sqlState: hasState && h.length >= 9 ? utf8.decode(h.subarray(4, 9)) : null,
    message: h.length > (hasState ? 9 : 3) ? utf8.decode(h.subarray(hasState ? 9 : 3)) : null,
  };
}

/** What the packets of one response say, as far as they were captured. */
function summarise(commandByte: number, packets: readonly MysqlPacket[]): ResponseSummary {
  const first = packets[0]!;
  const firstByte = first.head[0];
  if (firstByte === undefined) return { kind: 'unknown', error: null, rowCount: null, stmtId: null };
  if (firstByte === ERR_PACKET) return { kind: 'error', error: errorOf(first), rowCount: null, stmtId: null };
  if (firstByte === OK_PACKET) {
    if (commandByte === COM_STMT_PREPARE) return { kind: 'prepare-ok', error: null, rowCount: null, stmtId: readUint(first.head, 1, 4) };
    return { kind: 'ok', error: null, rowCount: null, stmtId: null };
  }
  if (firstByte === EOF_PACKET && first.payloadLength <= MAX_EOF_PAYLOAD) return { kind: 'eof', error: null, rowCount: null, stmtId: null };
  // A result set: column count, column definitions, [EOF], rows, EOF/OK or ERR
  // (https://mariadb.com/kb/en/result-set-packets/). Rows are counted only if every packet was seen.
  const last = packets[packets.length - 1]!;
  const error = last.head[0] === ERR_PACKET && packets.length > 1 ? errorOf(last) : null;
  const columns = readLengthEncoded(first.head, 0);
  const complete = packets.every((p, i) => p.seq === ((first.seq + i) & 0xff)) && isTerminator(last);
  let rowCount: number | null = null;
  if (complete && columns !== null && !error) {
    let i = 1 + columns;
    const afterColumns = packets[i];
    if (afterColumns && afterColumns.head[0] === EOF_PACKET && afterColumns.payloadLength <= MAX_EOF_PAYLOAD && i < packets.length - 1) i++;
    let rows = 0;
    for (; i < packets.length && !isTerminator(packets[i]!); i++) rows++;
    rowCount = rows;
  }
  return { kind: error ? 'error' : 'result-set', error, rowCount, stmtId: null };
}

interface Command {
  byte: number;
  info: CommandInfo;
  packets: MysqlPacket[];
}

/** Request packets grouped into commands; packets before the first command (handshake response, auth) are dropped. */
function groupCommands(requests: readonly MysqlPacket[]): Command[] {
  const commands: Command[] = [];
  for (const p of requests) {
    const byte = p.head[0];
    const info = byte === undefined ? undefined : COMMANDS.get(byte);
    const current = commands[commands.length - 1];
    const continues = current !== undefined && current.packets[current.packets.length - 1]!.payloadLength === MAX_PACKET_PAYLOAD;
    if (p.seq === 0 && info !== undefined && !continues) commands.push({ byte: byte!, info, packets: [p] });
    else if (current) current.packets.push(p); // continuation, auth switch data, LOCAL INFILE contents
  }
  return commands;
}

/**
 * Pairs the command and response packets of one connection (each in stream order). Server packets before the
 * first command (greeting, auth switch, OK) are the handshake and are ignored. Errors counted: server packets
 * after a command that gets no reply (COM_STMT_CLOSE, COM_QUIT, ...). A command whose response was not captured
 * gets `resp: null`.
 */
export function stitch(requests: readonly MysqlPacket[], responses: readonly MysqlPacket[]): RecordsWithErrorCount<MysqlRecord> {
  const commands = groupCommands(requests);
  const records: MysqlRecord[] = [];
  const preparedSql = new Map<number, string>();
  let errorCount = 0;
  let r = 0;
  // The handshake: everything the server sent before the first command.
  const firstStart = commands[0]?.packets[0]!.tsStartNs;
  while (r < responses.length && (firstStart === undefined || responses[r]!.tsStartNs < firstStart)) r++;

  for (let i = 0; i < commands.length; i++) {
    const cmd = commands[i]!;
    const nextStart = commands[i + 1]?.packets[0]!.tsStartNs;
    const group: MysqlPacket[] = [];
    while (r < responses.length && (nextStart === undefined || responses[r]!.tsStartNs < nextStart)) group.push(responses[r++]!);
    if (!cmd.info.hasResponse && group.length > 0) {
      errorCount++;
      group.length = 0;
    }

    const head = cmd.packets[0]!.head;
    let sql: string | null = null;
    let path: string | null = null;
    let method: string = cmd.info.name;
    if (cmd.byte === COM_QUERY || cmd.byte === COM_STMT_PREPARE) sql = sqlText(head.subarray(1));
    if (cmd.byte === COM_STMT_EXECUTE) {
      const stmtId = readUint(head, 1, 4);
      sql = stmtId === null ? null : (preparedSql.get(stmtId) ?? null);
    }
    if (sql !== null) {
      path = normaliseSql(sql);
      if (cmd.byte !== COM_STMT_PREPARE) method = sqlVerb(sql) ?? method;
    }
    if (cmd.byte === COM_INIT_DB) path = utf8.decode(head.subarray(1));

    const summary = group.length > 0 ? summarise(cmd.byte, group) : null;
    if (summary?.stmtId != null && sql !== null) preparedSql.set(summary.stmtId, sql);
    records.push({
      protocol: 'mysql',
      method,
      path,
      status: summary === null ? null : summary.kind === 'error' ? 'error' : 'ok',
      req: spanOf(cmd.packets),
      resp: group.length > 0 ? spanOf(group) : null,
      ids: sql === null ? {} : sqlIds(sql),
      command: cmd.info.name,
      sql,
      responseKind: summary?.kind ?? null,
      errorCode: summary?.error?.code ?? null,
      sqlState: summary?.error?.sqlState ?? null,
      errorMessage: summary?.error?.message ?? null,
      rowCount: summary?.rowCount ?? null,
      requestPackets: cmd.packets.length,
      responsePackets: group.length,
    });
  }
  return { records, errorCount };
}
