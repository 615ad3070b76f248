import { ColumnBatch } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { oneOf } from '../engine/sqlLists.js';
import { messagingProtocols } from '../protocols/registry.js';

const HANDLER_ENDS_SCHEMA = [
  ['span_id', 'VARCHAR'],
  ['end_ns', 'BIGINT'],
  /** 'reply': a reply nothing names ended it (the count of open handlers is right); 'next': a cast, ended where the next delivery of its method began (a guess: builds overlap) */
  ['how', 'VARCHAR'],
] as const;

/**
 * `handler_ends`: where an RPC handler whose reply the capture cannot name probably ended. oslo.messaging's server
 * answers every call with one reply, and the reply names its call only by `_msg_id`, which comes after the result:
 * on the schema-1 compute sample the `_msg_id` of 163 of nova-conductor's 394 replies is cut by the 2 KB snaplen,
 * so 164 handlers never end on the wire and stay open for every later database session of the process. A handler
 * is bounded only when its method is known to be a call in its process (some handler of it was paired with a named
 * reply): casts (`schedule_and_build_instances`, `terminate_instance`) send no reply and stay open. In each process,
 * every reply no call is named for ends the longest-open bounded handler begun before it (a handler that waits
 * longest has most likely finished: conductor's object calls take tens of ms); the count of handlers open at any
 * time is then right, which of them may not be (`how` = 'reply'). A cast handler sends nothing that ends it; it is
 * taken as over where the next delivery of its method to the process begins (`how` = 'next'): a guess (builds of
 * one project overlap), used only for database sessions nothing else places (correlate/dbSession.ts, `green:one_open`).
 */
export async function estimateHandlerEnds(engine: Engine): Promise<void> {
  const d = engine.dialect;
  const rpc = (column: string): string => oneOf(d, column, messagingProtocols);
  await engine.exec(d.createTable('handler_ends', HANDLER_ENDS_SCHEMA));
  const rows = await engine.query<{ node: string; pid: number; span_id: string; t: bigint; is_reply: boolean }>(
    // The ORDER BY sorts the whole union only from outside it: in ClickHouse a trailing one binds to the last SELECT.
    `WITH calls AS (
       SELECT DISTINCT node, pid, method FROM spans_raw
       WHERE kind = 'server' AND ${rpc('protocol')} AND raw_end_ns IS NOT NULL AND method IS NOT NULL)
     SELECT node, pid, span_id, t, is_reply FROM (
       SELECT s.node AS node, s.pid AS pid, s.span_id AS span_id, s.raw_start_ns AS t, false AS is_reply
       FROM spans_raw s JOIN calls c ON c.node = s.node AND c.pid = s.pid AND c.method = s.method
       WHERE s.kind = 'server' AND ${rpc('s.protocol')} AND s.raw_end_ns IS NULL
       UNION ALL
       SELECT r.node AS node, r.pid AS pid, r.span_id AS span_id, r.raw_start_ns AS t, true AS is_reply
       FROM spans_raw r
       WHERE r.kind = 'producer' AND ${rpc('r.protocol')} AND r.rpc_kind = 'reply' AND NOT r.broker
         AND r.span_id NOT IN (SELECT child FROM candidates WHERE evidence = 'content:_msg_id')) u
     ORDER BY node, pid, t, is_reply, span_id`,
  );
  const out = new ColumnBatch(HANDLER_ENDS_SCHEMA);
  const [spanCol, endCol, howCol] = out.columns as { push(v: unknown): void }[];
  let key = '';
  let open: string[] = [];
  for (const r of rows) {
    const k = `${r.node}/${r.pid}`;
    if (k !== key) {
      key = k;
      open = [];
    }
    if (!r.is_reply) open.push(r.span_id);
    else if (open.length > 0) {
      spanCol!.push(open.shift());
      endCol!.push(BigInt(r.t));
      howCol!.push('reply');
    }
  }
  await engine.append('handler_ends', out);
  // A handler of a method never answered in its process (a cast) ends where the next delivery of that method begins.
  await engine.exec(`INSERT INTO handler_ends
    SELECT span_id, next_start, 'next' FROM (
      SELECT s.span_id AS span_id, s.raw_end_ns AS raw_end_ns,
             lead(s.raw_start_ns) OVER (PARTITION BY s.node, s.pid, s.method ORDER BY s.raw_start_ns, s.span_id) AS next_start
      FROM spans_raw s
      WHERE s.kind = 'server' AND ${rpc('s.protocol')} AND s.method IS NOT NULL
        AND (s.node, s.pid, s.method) NOT IN (SELECT node, pid, method FROM spans_raw
                                              WHERE kind = 'server' AND ${rpc('protocol')} AND raw_end_ns IS NOT NULL AND method IS NOT NULL)) x
    WHERE raw_end_ns IS NULL AND next_start IS NOT NULL`);
}
