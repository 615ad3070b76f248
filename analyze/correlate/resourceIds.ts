import { ColumnBatch, type ColumnChunk } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { oneOf } from '../engine/sqlLists.js';
import { maskPayload } from '../load/maskGroundTruth.js';
import type { ResourceIdKind } from '../protocols/protocol.js';
import { messagingProtocols, resourceIdFields, resourcePathProtocols } from '../protocols/registry.js';

const RESOURCE_IDS_SCHEMA = [
  ['span_id', 'VARCHAR'],
  ['value', 'VARCHAR'],
  ['kind', 'VARCHAR'],
] as const;

/**
 * A UUID, or a keystone id (project, user: 32 hex digits) as a quoted JSON value (`"..."` or, inside oslo's
 * serialised message, `\\"...\\"`): quoted, so hex runs inside longer tokens (hashes in URLs) are not taken.
 */
const RESOURCE_ID = /(\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)|(?<=")([0-9a-f]{32})(?=\\?")/gi;
/** Where oslo.messaging's own ids and the request context begin in a message: the resource ids are before it. */
const CONTEXT_START = /\\?"_(?:msg_id|unique_id|reply_q|context_)/;
/** Bytes of a message read for its resource ids (the head: a schema-1 capture keeps 2 KB of each syscall anyway). */
const HEAD_BYTES = 8192;
const TWO_32 = 2 ** 32;
/**
 * A serialised versioned object in an RPC head and its integer primary key (the first field of its data), under any
 * serialisation namespace ending in `_object`: oslo.versionedobjects' default `versioned_object` (cinder...) or a
 * service's own (nova's `nova_object`, ironic's `ironic_object`); its name and data under the same one.
 */
const OBJECT_ROW = /\b(\w+_object)\.name\\?": \\?"(\w+)\\?"[^{}]*?\b\1\.data\\?": \{\\?"id\\?": (\d+)/g;
/** One name for an object class and its table: ComputeNode ~ compute_nodes, BlockDeviceMapping ~ block_device_mapping. */
const rowKey = (name: string, id: string): string => `row:${name.toLowerCase().replace(/_/g, '').replace(/s$/, '')}#${id}`;

/** The rows an RPC head's serialised objects name by primary key, as `row:<object>#<id>` (see OBJECT_ROW). */
export function objectRowIds(text: string): string[] {
  if (!text.includes('_object.name')) return [];
  return [...text.matchAll(OBJECT_ROW)].map((m) => rowKey(m[2]!, m[3]!));
}

/**
 * `resource_ids`: the UUIDs of the resources a request or call is about (instances, images, ports, services...)
 * and the keystone ids of whom it is for (project, user), one row per (span, value) with its `kind`
 * (ResourceIdKind): from the `args` of an RPC message's captured head (before oslo's `_msg_id`, `_unique_id` and the
 * `_context_*` keys, so never the context or its masked `_context_trace_info`), from an HTTP path, and the
 * `sql_uuid` / `sql_keystone_id` ids of SQL statements. RPC heads are read back from the message's byte range on its
 * connection (events in stream order), masked like every payload the parsers see. Green threads of one eventlet
 * process work on different resources at once, so these ids tell them apart where the order of socket events cannot
 * (correlate/dbSession.ts).
 */
export async function collectResourceIds(engine: Engine): Promise<void> {
  const d = engine.dialect;
  // RPC spans are the messaging protocols' (protocols/registry.ts); paths name resources in some protocols (HTTP).
  const rpc = oneOf(d, 's.protocol', messagingProtocols);
  await engine.exec(d.createTable('resource_ids', RESOURCE_IDS_SCHEMA));
  const out = new ColumnBatch(RESOURCE_IDS_SCHEMA);
  const [spanCol, valueCol, kindCol] = out.columns as { push(v: unknown): void }[];
  const add = (span: string, text: string): void => {
    const found = new Map<string, ResourceIdKind>();
    for (const m of text.matchAll(RESOURCE_ID)) found.set((m[1] ?? m[2]!).toLowerCase(), m[1] !== undefined ? 'uuid' : 'keystone_id');
    for (const row of objectRowIds(text)) found.set(row, 'row_id');
    for (const [v, kind] of found) {
      spanCol!.push(span);
      valueCol!.push(v);
      kindCol!.push(kind);
    }
  };
  // RPC spans: the byte range of their message on the application's own side of the connection.
  interface Msg { span: string; offset: number; length: number; text: string; done: boolean }
  const streams = new Map<string, { base: number; msgs: Msg[] }>();
  await engine.stream(
    `SELECT s.span_id, m.node, k.conn_id, CASE WHEN m.dir = 'send' THEN 'send' ELSE 'recv' END AS dir, m.tcp_seq, m.length
     FROM spans_raw s JOIN amqp_msgs m ON m.msg_idx = s.msg_idx JOIN conns k ON k.conn_idx = m.conn_idx
     WHERE ${rpc} AND s.kind IN ('client', 'server') AND m.tcp_seq IS NOT NULL
     ORDER BY m.node, k.conn_id, dir, m.conn_pos`,
    (chunk: ColumnChunk) => {
      for (let i = 0; i < chunk.rowCount; i++) {
        const key = `${chunk.string(1, i)}/${chunk.bigint(2, i)}/${chunk.string(3, i)}`;
        const seq = Number(chunk.bigint(4, i));
        let st = streams.get(key);
        if (!st) streams.set(key, (st = { base: seq, msgs: [] }));
        st.msgs.push({ span: chunk.string(0, i)!, offset: (seq - st.base + TWO_32) % TWO_32, length: Number(chunk.bigint(5, i)), text: '', done: false });
      }
    },
  );
  if (streams.size > 0) {
    await engine.exec(d.createTableAs('resource_conns', `SELECT DISTINCT m.node AS node, k.conn_id AS conn_id
      FROM spans_raw s JOIN amqp_msgs m ON m.msg_idx = s.msg_idx JOIN conns k ON k.conn_idx = m.conn_idx
      WHERE ${rpc} AND s.kind IN ('client', 'server')`));
    await engine.stream(
      `SELECT e.node, e.conn_id, e.direction, e.tcp_seq, e.payload FROM events e JOIN resource_conns c ON c.node = e.node AND c.conn_id = e.conn_id
       WHERE e.event = 'data' AND e.tcp_seq IS NOT NULL AND e.payload IS NOT NULL ORDER BY e.node, e.conn_id, e.direction, e.mono_ns`,
      (chunk: ColumnChunk) => {
        for (let i = 0; i < chunk.rowCount; i++) {
          const st = streams.get(`${chunk.string(0, i)}/${chunk.bigint(1, i)}/${chunk.string(2, i)}`);
          if (!st) continue;
          const start = (Number(chunk.bigint(3, i)) - st.base + TWO_32) % TWO_32;
          const payload = Uint8Array.from(chunk.bytes(4, i)!);
          maskPayload(payload);
          // Messages are few per connection and in stream order: the first one whose range holds the event's bytes.
          const m = messageAt(st.msgs, start);
          if (!m || m.done) continue;
          m.text += Buffer.from(payload).toString('latin1');
          if (m.text.length >= HEAD_BYTES || start + payload.length >= m.offset + m.length) m.done = true;
        }
      },
    );
    for (const st of streams.values()) {
      for (const m of st.msgs) {
        const cut = CONTEXT_START.exec(m.text);
        add(m.span, cut ? m.text.slice(0, cut.index) : m.text);
      }
    }
  }
  await engine.append('resource_ids', out);
  out.clear();
  // Paths that name resources (an HTTP request about /servers/<uuid>, /allocations/<uuid>...).
  await engine.stream(`SELECT span_id, path FROM spans_raw WHERE ${oneOf(d, 'protocol', resourcePathProtocols)} AND path IS NOT NULL`, (chunk: ColumnChunk) => {
    for (let i = 0; i < chunk.rowCount; i++) add(chunk.string(0, i)!, chunk.string(1, i)!);
  });
  await engine.append('resource_ids', out);
  // Resource id fields of calls (SQL statements), with the kind their protocol's spec gives; row ids (`<table>#N`) are
  // kept in span_row_ids and named like an RPC head's objects.
  const fields = Object.entries(resourceIdFields);
  const inSpanIds = fields.filter(([, kind]) => kind !== 'row_id');
  if (inSpanIds.length > 0) {
    const kindOf = inSpanIds.map(([field, kind]) => `WHEN ${d.string(field)} THEN ${d.string(kind)}`).join(' ');
    await engine.exec(`INSERT INTO resource_ids SELECT span_id, value, CASE field ${kindOf} END FROM span_ids
      WHERE ${oneOf(d, 'field', inSpanIds.map(([field]) => field))}`);
  }
  out.clear();
  await engine.stream(`SELECT span_id, value FROM span_row_ids`, (chunk: ColumnChunk) => {
    for (let i = 0; i < chunk.rowCount; i++) {
      const [table, id] = chunk.string(1, i)!.split('#');
      spanCol!.push(chunk.string(0, i)!);
      valueCol!.push(rowKey(table!, id!));
      kindCol!.push('row_id');
    }
  });
  await engine.append('resource_ids', out);
}

/** The message whose byte range [offset, offset + length) holds `pos` (binary search over ascending offsets). */
function messageAt<M extends { offset: number; length: number }>(msgs: M[], pos: number): M | undefined {
  let lo = 0;
  let hi = msgs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (msgs[mid]!.offset <= pos) lo = mid;
    else hi = mid - 1;
  }
  const m = msgs[lo];
  return m && m.offset <= pos && pos < m.offset + m.length ? m : undefined;
}
