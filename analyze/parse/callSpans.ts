import type { TableSchema } from '../engine/columns.js';
import { ColumnBatch } from '../engine/columns.js';
import type { CallRecord } from '../protocols/types.js';

/**
 * `call_sides`: one row per call side of a request/response protocol (HTTP, MySQL, Redis, memcached), times on
 * each node's own clock. The row layout is defined here once; messaging protocols (AMQP) get their spans from
 * their messages later (analyze/messaging/).
 */
export const CALL_SIDES_SCHEMA = [
  /** Internal integer id: conn_idx * 2^24 + call_index (span_id, the public id, is derived from the same key). */
  ['sid', 'BIGINT'],
  ['kind', 'VARCHAR'],
  ['node', 'VARCHAR'],
  ['pid', 'INTEGER'],
  ['tid', 'INTEGER'],
  ['gid', 'UBIGINT'],
  ['resp_tid', 'INTEGER'],
  ['resp_gid', 'UBIGINT'],
  ['conn_idx', 'INTEGER'],
  ['protocol', 'VARCHAR'],
  ['method', 'VARCHAR'],
  ['path', 'VARCHAR'],
  ['status', 'VARCHAR'],
  ['call_index', 'INTEGER'],
  ['raw_start_ns', 'BIGINT'],
  ['raw_req_end_ns', 'BIGINT'],
  ['raw_resp_start_ns', 'BIGINT'],
  ['raw_end_ns', 'BIGINT'],
  ['req_bytes', 'BIGINT'],
  ['resp_bytes', 'BIGINT'],
  ['req_seq', 'UBIGINT'],
  ['resp_seq', 'UBIGINT'],
  ['head_complete', 'BOOLEAN'],
  ['req_seen', 'BOOLEAN'],
] as const satisfies TableSchema;

/** `call_ids`: content ids a call carried (request ids, ...), one row per (call side, field, value). */
export const CALL_IDS_SCHEMA = [
  ['sid', 'BIGINT'],
  ['field', 'VARCHAR'],
  ['value', 'VARCHAR'],
] as const satisfies TableSchema;

/** Calls per connection an internal id leaves room for. */
export const CALLS_PER_CONNECTION = 2 ** 24;

/** The internal id of the `callIndex`th call side on connection `connIdx` (exact below 2^53: up to 2^29 connections). */
export function callSid(connIdx: number, callIndex: number): number {
  return connIdx * CALLS_PER_CONNECTION + callIndex;
}

/** Writes one call side: the spans_raw row and its content ids. */
export class CallSpanWriter {
  readonly spans = new ColumnBatch(CALL_SIDES_SCHEMA);
  readonly ids = new ColumnBatch(CALL_IDS_SCHEMA);
  private readonly c = this.spans.columns as { push(v: unknown): void }[];
  // BIGINT and UBIGINT columns written from Numbers (no BigInt per row).
  private readonly sid = this.spans.column('sid');
  private readonly reqBytes = this.spans.column('req_bytes');
  private readonly respBytes = this.spans.column('resp_bytes');
  private readonly reqSeq = this.spans.column('req_seq');
  private readonly respSeq = this.spans.column('resp_seq');
  private readonly idSid = this.ids.column('sid');
  private readonly idField = this.ids.column('field');
  private readonly idValue = this.ids.column('value');

  write(rec: CallRecord, kind: 'client' | 'server', node: string, connIdx: number, callIndex: number): void {
    const sid = callSid(connIdx, callIndex);
    const req = rec.req;
    const resp = rec.resp;
    const c = this.c;
    // Column order of CALL_SIDES_SCHEMA.
    this.sid.pushNumber(sid);
    c[1]!.push(kind);
    c[2]!.push(node);
    c[3]!.push(req.pid ?? null);
    c[4]!.push(req.tid);
    c[5]!.push(req.gid ?? null);
    c[6]!.push(resp?.tid ?? null);
    c[7]!.push(resp?.gid ?? null);
    c[8]!.push(connIdx);
    c[9]!.push(rec.protocol);
    c[10]!.push(rec.method);
    c[11]!.push(rec.path);
    c[12]!.push(rec.status);
    c[13]!.push(callIndex);
    c[14]!.push(req.tsStartNs);
    c[15]!.push(req.tsEndNs);
    c[16]!.push(resp?.tsStartNs ?? null);
    c[17]!.push(resp?.tsEndNs ?? req.tsEndNs);
    this.reqBytes.pushNumber(req.length);
    this.respBytes.pushNumber(resp ? resp.length : null);
    this.reqSeq.pushNumber(rec.orphan ? null : (req.tcpSeq ?? null));
    this.respSeq.pushNumber(resp?.tcpSeq ?? null);
    c[22]!.push((req as { headComplete?: boolean }).headComplete ?? true);
    c[23]!.push(!rec.orphan);
    for (const [field, values] of Object.entries(rec.ids)) {
      for (const v of values) {
        this.idSid.pushNumber(sid);
        this.idField.push(field);
        this.idValue.push(v);
      }
    }
  }
}
