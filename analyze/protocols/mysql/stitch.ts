/**
 * Groups MySQL packets into commands and responses and pairs them. The protocol is strictly request/response per
 * connection (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html): a client sends
 * the next command only after the whole response, so a response is every server packet from its command up to the
 * next command. That holds even when gaps hid the structure of a large result set.
 */
import { stitchAll, type ResourceIdKind, type Stitcher, type StitchSink } from '../protocol.js';
import type { Frame, RecordsWithErrorCount } from '../types.js';
import { COMMANDS, EOF_PACKET, ERR_PACKET, MAX_EOF_PAYLOAD, MAX_PACKET_PAYLOAD, OK_PACKET, type CommandInfo } from './parse.js';
import { StatementCache } from './statementCache.js';
import { MAX_PAYLOAD_HEAD, type MysqlPacket, type MysqlRecord, type MysqlResponseKind } from './types.js';

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
  return collapseWhitespace(utf8.decode(payloadAfterCommand));
}

function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
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
  // Each replacement runs only where its pattern can match (a quote, `0x`, a digit): most statements of a run
  // lack several of them (the parse step normalises every statement of a capture).
  let s = sql.replace(LEADING_COMMENTS, '');
  if (s.includes("'")) s = s.replace(/'(?:[^'\\]|\\[\s\S]|'')*(?:'|$)/g, '?');
  if (s.includes('"')) s = s.replace(/"(?:[^"\\]|\\[\s\S]|"")*(?:"|$)/g, '?');
  if (s.includes('0x')) s = s.replace(/\b0x[0-9a-fA-F]+\b/g, '?');
  if (HAS_DIGIT.test(s)) s = s.replace(/(?<![\w.$`])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b/g, '?');
  return s.replace(/\s+/g, ' ').trim().slice(0, MAX_PATH_CHARS);
}

const HAS_DIGIT = /\d/;

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
/** Span id field of the OpenStack request ids a statement holds (nova's instance_actions rows). */
export const SQL_REQUEST_ID_FIELD = 'request_id';
/** Span id fields of the resource ids a statement names, with what each names (see sqlIds). */
export const SQL_RESOURCE_ID_FIELDS = { sql_uuid: 'uuid', sql_keystone_id: 'keystone_id', sql_row_id: 'row_id' } as const satisfies Record<string, ResourceIdKind>;

/** A keystone id as a quoted SQL literal (uuid4().hex): quoted, so hex runs inside longer tokens are not taken. */
const KEYSTONE_ID = /(?<=')[0-9a-f]{32}(?=')/gi;
/** A row named by its integer primary key: `<table>.id = N` (SQLAlchemy's WHERE for an object's refresh and save). */
const ROW_ID = /\b(\w+)\.id = (\d+)\b/g;
const REQUEST_ID = /\breq-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/**
 * Ids in a statement that other calls may carry too: OpenStack request ids (`req-<uuid>`, e.g. nova's
 * instance_actions rows), other UUIDs (instances, images, ports...) under `sql_uuid`, and keystone's ids (projects,
 * users: 32 hex digits, no dashes) as quoted literals under `sql_keystone_id` (nova's quota and per-project queries
 * name nothing else); and the rows a statement names by primary key (`<table>.id = N`) under `sql_row_id`, as
 * `<table>#N`.
 */
export function sqlIds(sql: string): Record<string, string[]> {
  const ids: Partial<Record<typeof SQL_REQUEST_ID_FIELD | keyof typeof SQL_RESOURCE_ID_FIELDS, string[]>> = {};
  const keystoneIds = sql.includes("'") ? uniqueLower(sql.match(KEYSTONE_ID)) : [];
  if (keystoneIds.length > 0) ids['sql_keystone_id'] = keystoneIds;
  const rowIds = sql.includes('.id = ') ? [...new Set([...sql.matchAll(ROW_ID)].map((m) => `${m[1]!.toLowerCase()}#${m[2]}`))] : [];
  if (rowIds.length > 0) ids['sql_row_id'] = rowIds;
  // Both patterns below hold a '-': most statements have none (their ids, if any, are bound parameters).
  if (!sql.includes('-')) return ids;
  const requestIds = [...new Set(sql.match(REQUEST_ID) ?? [])].map((s) => s.toLowerCase());
  if (requestIds.length > 0) ids[SQL_REQUEST_ID_FIELD] = requestIds;
  const withoutRequestIds = sql.replace(REQUEST_ID, '');
  const uuids = [...new Set((withoutRequestIds.match(UUID) ?? []).map((s) => s.toLowerCase()))];
  if (uuids.length > 0) ids['sql_uuid'] = uuids;
  return ids;
}

function uniqueLower(found: RegExpMatchArray | null): string[] {
  return found === null ? [] : [...new Set(found.map((s) => s.toLowerCase()))];
}

/** What a call's fields take from its statement text: computed once per distinct text (see statementFacts). */
interface StatementFacts {
  /** sqlText of the statement. */
  sql: string;
  /** normaliseSql of it. */
  path: string;
  /** sqlVerb of it. */
  verb: string | null;
  /** sqlIds of it (shared by every call with this text: read, never changed). */
  ids: Readonly<Record<string, string[]>>;
}

/**
 * Distinct statements remembered per generation (StatementCache). OpenStack sessions repeat a few statements most
 * of the time (measured on the 1 M bench set: 263 895 statements, 12 852 distinct texts; ROLLBACK 99 663, SELECT 1
 * 55 577), so the regex work (collapse, literal masking, verb, ids) runs once per text instead of once per call. One
 * generation of 4 096 that started again when full computed the facts of 23 964 of those statements; two of 8 192:
 * once per text.
 */
const MAX_STATEMENTS = 8192;

/** The facts of a statement, by its bytes (the command's payload after the command byte, at most 1 KB). */
const statements = new StatementCache<StatementFacts>(MAX_STATEMENTS);
/**
 * sqlIds of a statement longer than MAX_PAYLOAD_HEAD, by its whole captured head (bulk INSERTs and long IN lists
 * repeat too).
 */
const longIds = new StatementCache<Readonly<Record<string, string[]>>>(MAX_STATEMENTS);

/** The facts of the statement in a command's head (after the command byte, at most MAX_PAYLOAD_HEAD bytes). */
function statementFacts(head: Uint8Array): StatementFacts {
  return statements.get(head, computeFacts, 1, Math.max(1, Math.min(head.length, MAX_PAYLOAD_HEAD)));
}

function computeFacts(bytes: Uint8Array): StatementFacts {
  const sql = sqlText(bytes);
  return { sql, path: normaliseSql(sql), verb: sqlVerb(sql), ids: sqlIds(sql) };
}

/** sqlIds of the whole statement in a command's head (after the command byte). */
function longStatementIds(head: Uint8Array): Record<string, string[]> {
  return longIds.get(head, computeLongIds, 1, head.length) as Record<string, string[]>;
}

function computeLongIds(bytes: Uint8Array): Readonly<Record<string, string[]>> {
  return sqlIds(sqlText(bytes));
}

/**
 * A run of packets (first to last, in stream order) as one frame, kept without the packets in between. A frame
 * may stand for several packets (MysqlPacket.frameCount): counted as that many.
 */
class PacketRun {
  count: number;
  last: MysqlPacket;
  constructor(readonly first: MysqlPacket) {
    this.last = first;
    this.count = first.frameCount;
  }
  add(p: MysqlPacket): void {
    this.last = p;
    this.count += p.frameCount;
  }
  frame(): Frame {
    const { first, last } = this;
    return { startPos: first.startPos, tsStartNs: first.tsStartNs, tsEndNs: last.tsEndNs, tid: first.tid, length: last.startPos + last.length - first.startPos,
      tcpSeq: first.tcpSeq, pid: first.pid, gid: first.gid };
  }
}

function isTerminator(p: MysqlPacket): boolean {
  return (p.head[0] === EOF_PACKET && p.payloadLength < MAX_PACKET_PAYLOAD) || p.head[0] === ERR_PACKET;
}

function isSmallEof(p: MysqlPacket): boolean {
  return p.head[0] === EOF_PACKET && p.payloadLength <= MAX_EOF_PAYLOAD;
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

/**
 * One response's packets summarised as they come (a result set can be thousands of packets; only counts and the
 * first and last packet are kept). A result set: column count, column definitions, [EOF], rows, EOF/OK or ERR
 * (https://mariadb.com/kb/en/result-set-packets/); rows are counted only if every packet was seen.
 */
class ResponseRun extends PacketRun {
  private seqInOrder = true;
  private readonly columns: number | null;
  /** Rows so far: packets after the column section up to the first terminator. */
  private rows = 0;
  private rowsEnded = false;
  constructor(first: MysqlPacket) {
    super(first);
    this.columns = readLengthEncoded(first.head, 0);
    // Merged row-like packets after the first (indexes 1 and on) count as add() would count them one by one.
    if (first.frameCount > 1) this.addRows(1, first.frameCount - 1);
  }
  override add(p: MysqlPacket): void {
    const index = this.count; // index of p in the response
    super.add(p);
    if (p.seq !== ((this.first.seq + index) & 0xff)) this.seqInOrder = false;
    // Merged packets are row-like, each with the next sequence id: neither an EOF nor a terminator (see below).
    if (p.frameCount > 1) return this.addRows(index, p.frameCount);
    if (this.columns === null || index < 1 + this.columns || this.rowsEnded) return;
    // The EOF after the column definitions (old protocol) is skipped when more packets follow it; if it is the
    // last packet it ends the (empty) row section, which is the same count.
    if (index === 1 + this.columns && isSmallEof(p)) return;
    if (isTerminator(p)) this.rowsEnded = true;
    else this.rows++;
  }
  /** Counts `n` row-like packets from response index `index` on: those after the column section are rows. */
  private addRows(index: number, n: number): void {
    if (this.columns === null || this.rowsEnded) return;
    this.rows += Math.max(0, index + n - Math.max(index, 1 + this.columns));
  }
  summary(commandByte: number): ResponseSummary {
    const { first, last } = this;
    const firstByte = first.head[0];
    if (firstByte === undefined) return { kind: 'unknown', error: null, rowCount: null, stmtId: null };
    if (firstByte === ERR_PACKET) return { kind: 'error', error: errorOf(first), rowCount: null, stmtId: null };
    if (firstByte === OK_PACKET) {
      if (commandByte === COM_STMT_PREPARE) return { kind: 'prepare-ok', error: null, rowCount: null, stmtId: readUint(first.head, 1, 4) };
      return { kind: 'ok', error: null, rowCount: null, stmtId: null };
    }
    if (isSmallEof(first)) return { kind: 'eof', error: null, rowCount: null, stmtId: null };
    const error = last.head[0] === ERR_PACKET && this.count > 1 ? errorOf(last) : null;
    const complete = this.seqInOrder && isTerminator(last);
    const rowCount = complete && this.columns !== null && !error ? this.rows : null;
    return { kind: error ? 'error' : 'result-set', error, rowCount, stmtId: null };
  }
}

interface Command {
  byte: number;
  info: CommandInfo;
  packets: PacketRun;
  head: Uint8Array;
  response: ResponseRun | null;
  /** Server packets after a command that gets no reply. */
  unexpected: boolean;
}

/**
 * Pairs the command and response packets of one connection as they come. Request packets are grouped into
 * commands (continuations, auth data and LOCAL INFILE contents join the command before them); server packets
 * before the first command (greeting, auth switch, OK) are the handshake and are ignored; a command's response is
 * every server packet up to the next command. Errors counted: server packets after a command that gets no reply
 * (COM_STMT_CLOSE, COM_QUIT, ...). A command whose response was not captured gets `resp: null`.
 */
export function createMysqlStitcher(sink: StitchSink): Stitcher<MysqlPacket> {
  /** Prepared statements of the connection by statement id (COM_STMT_EXECUTE names one). */
  const preparedSql = new Map<number, StatementFacts>();
  let current: Command | null = null;
  let errorCount = 0;
  const finish = (cmd: Command): void => {
    if (cmd.unexpected) errorCount++;
    const response = cmd.unexpected ? null : cmd.response;
    let facts: StatementFacts | null = null;
    /** Ids of a statement longer than its first 1 KB: read from the whole captured head (paths and verbs: 1 KB). */
    let ids: Record<string, string[]> | null = null;
    let path: string | null = null;
    let method: string = cmd.info.name;
    if (cmd.byte === COM_QUERY || cmd.byte === COM_STMT_PREPARE) {
      facts = statementFacts(cmd.head);
      if (cmd.head.length > MAX_PAYLOAD_HEAD) ids = longStatementIds(cmd.head);
    }
    if (cmd.byte === COM_STMT_EXECUTE) {
      const stmtId = readUint(cmd.head, 1, 4);
      facts = stmtId === null ? null : (preparedSql.get(stmtId) ?? null);
    }
    if (facts !== null) {
      path = facts.path;
      if (cmd.byte !== COM_STMT_PREPARE) method = facts.verb ?? method;
    }
    if (cmd.byte === COM_INIT_DB) path = utf8.decode(cmd.head.subarray(1));
    const summary = response ? response.summary(cmd.byte) : null;
    if (summary?.stmtId != null && facts !== null) preparedSql.set(summary.stmtId, facts);
    const sql = facts?.sql ?? null;
    const record: MysqlRecord = {
      protocol: 'mysql',
      method,
      path,
      status: summary === null ? null : summary.kind === 'error' ? 'error' : 'ok',
      req: cmd.packets.frame(),
      resp: response ? response.frame() : null,
      ids: ids ?? (facts === null ? {} : (facts.ids as Record<string, string[]>)),
      command: cmd.info.name,
      sql,
      responseKind: summary?.kind ?? null,
      errorCode: summary?.error?.code ?? null,
      sqlState: summary?.error?.sqlState ?? null,
      errorMessage: summary?.error?.message ?? null,
      rowCount: summary?.rowCount ?? null,
      requestPackets: cmd.packets.count,
      responsePackets: response ? response.count : 0,
    };
    sink.call(record);
  };
  return {
    push(p, type) {
      if (type === 'response') {
        if (!current) return; // the handshake
        if (!current.info.hasResponse) current.unexpected = true;
        else if (current.response) current.response.add(p);
        else current.response = new ResponseRun(p);
        return;
      }
      const byte = p.head[0];
      const info = byte === undefined ? undefined : COMMANDS.get(byte);
      const continues = current !== null && current.packets.last.payloadLength === MAX_PACKET_PAYLOAD;
      if (p.seq === 0 && info !== undefined && !continues) {
        if (current) finish(current);
        current = { byte: byte!, info, packets: new PacketRun(p), head: p.head, response: null, unexpected: false };
      } else if (current) current.packets.add(p); // continuation, auth switch data, LOCAL INFILE contents
    },
    end() {
      if (current) finish(current);
      current = null;
    },
    get errorCount() {
      return errorCount;
    },
  };
}

/** Batch form of createMysqlStitcher. */
export function stitch(requests: readonly MysqlPacket[], responses: readonly MysqlPacket[]): RecordsWithErrorCount<MysqlRecord> {
  const { records, errorCount } = stitchAll(createMysqlStitcher, requests, responses);
  return { records: records as MysqlRecord[], errorCount };
}
