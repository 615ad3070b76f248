import type { ColumnBatch, TableSchema } from '../../engine/columns.js';
import type { ConnectionFacts, MessageTable } from '../protocol.js';
import type { AmqpOperation } from './types.js';

/**
 * `amqp_messages`: one row per AMQP message or control method seen on a connection, from the side of the process
 * that captured it (a message crosses two connections: publisher -> broker, broker -> consumer; when the broker is
 * captured too, each connection is seen from both ends). docs/analysis-schema.md describes every column.
 */
export const AMQP_MESSAGES_SCHEMA = [
  ['conn_idx', 'INTEGER'],
  ['node', 'VARCHAR'],
  ['pid', 'INTEGER'],
  ['tid', 'INTEGER'],
  ['gid', 'UBIGINT'],
  ['broker_side', 'BOOLEAN'],
  ['dir', 'VARCHAR'],
  ['method', 'VARCHAR'],
  ['channel', 'INTEGER'],
  ['exchange', 'VARCHAR'],
  ['routing_key', 'VARCHAR'],
  ['queue', 'VARCHAR'],
  ['delivery_tag', 'BIGINT'],
  ['consumer_tag', 'VARCHAR'],
  ['body_size', 'BIGINT'],
  ['body_captured', 'BIGINT'],
  ['body_complete', 'BOOLEAN'],
  ['body_prefix_hash', 'VARCHAR'],
  ['body_hash', 'VARCHAR'],
  ['correlation_id', 'VARCHAR'],
  ['reply_to', 'VARCHAR'],
  ['oslo_kind', 'VARCHAR'],
  ['oslo_method', 'VARCHAR'],
  ['namespace', 'VARCHAR'],
  ['version', 'VARCHAR'],
  ['msg_id', 'VARCHAR'],
  ['unique_id', 'VARCHAR'],
  ['reply_q', 'VARCHAR'],
  ['request_id', 'VARCHAR'],
  ['global_request_id', 'VARCHAR'],
  ['failed', 'BOOLEAN'],
  ['raw_start_ns', 'BIGINT'],
  ['raw_end_ns', 'BIGINT'],
  ['tcp_seq', 'UBIGINT'],
  ['length', 'BIGINT'],
] as const satisfies TableSchema;

export const amqpMessageTable: MessageTable<AmqpOperation> = {
  table: 'amqp_messages',
  schema: AMQP_MESSAGES_SCHEMA,
  write(op: AmqpOperation, conn: ConnectionFacts, batch: ColumnBatch): void {
    const c = batch.columns;
    const m = op.message;
    const f = m.frame;
    // Column order of AMQP_MESSAGES_SCHEMA.
    const content = op.control ? null : op.message;
    const args = op.control ? op.message.args : null;
    const o = content?.oslo ?? null;
    const sent = (m.type === 'request') === conn.client;
    const values: unknown[] = [
      conn.connIdx, conn.node, f.pid ?? null, f.tid, f.gid ?? null, !conn.client, sent ? 'send' : 'recv', m.method, m.channel,
      content?.exchange ?? args?.exchange ?? null, content?.routingKey ?? args?.routingKey ?? null, args?.queue ?? null,
      content?.deliveryTag ?? args?.deliveryTag ?? null, content?.consumerTag ?? args?.consumerTag ?? null,
      content?.bodySize ?? null, content?.bodyCaptured ?? null, content?.bodyComplete ?? null, content?.bodyPrefixHash ?? null,
      content?.bodyHash ?? null, content?.properties.correlationId ?? null, content?.properties.replyTo ?? null,
      o?.kind ?? null, o?.method ?? o?.eventType ?? null, o?.namespace ?? null, o?.version ?? null, o?.msgId ?? null,
      o?.uniqueId ?? null, o?.replyQ ?? null, o?.requestId ?? null, o?.globalRequestId ?? null, o?.failed ?? null,
      f.tsStartNs, f.tsEndNs, f.tcpSeq ?? null, f.length,
    ];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const type = AMQP_MESSAGES_SCHEMA[i]![1];
      (c[i] as { push(x: unknown): void }).push(v === null || v === undefined ? null : type === 'BIGINT' || type === 'UBIGINT' ? BigInt(v as number | bigint) : v);
    }
  },
};
