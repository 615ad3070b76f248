/**
 * From AMQP frames to messages, and from messages to RPC records.
 *
 * AMQP is not request/response on one connection: an oslo.messaging RPC call is a basic.publish on one connection
 * of the caller, a basic.deliver on a connection of the server, a publish of the reply on the server (often another
 * connection), and a deliver of the reply on the caller's reply-queue connection. The broker sits in between, so TCP
 * sequence numbers cannot link the hops; ids in the body can:
 * - `_msg_id` is shared by a call and its reply (oslo_messaging/_drivers/amqpdriver.py),
 * - `_unique_id` is one per message (the call and the reply each have their own), the same on publish and deliver.
 * So: `messagesOf` assembles messages per connection direction, `stitchRpc` pairs each call with its reply on one
 * side (the caller's connections or the server's), and `matchRpc` links a publish to its delivery across the broker.
 */
import { createHash } from 'node:crypto';
import type { Stitcher, StitchSink } from '../protocol.js';
import type { Frame, MessageType, RecordsWithErrorCount } from '../types.js';
import type { AmqpFrame, AmqpMessage, AmqpOperation, AmqpRecord, BodyFrame, BrokerHop, ContentHeaderFrame, MethodFrame, OsloFields } from './types.js';

/** Body bytes kept per message for id extraction. */
export const MAX_MESSAGE_BODY_HEAD = 64 * 1024;
/** Body prefix hashed to follow a message through the broker when its whole body was not captured. */
export const BODY_PREFIX_BYTES = 256;

/** Methods followed by content (§4.2.6): the message carriers. */
const CONTENT_METHODS: ReadonlyMap<string, AmqpMessage['direction']> = new Map([
  ['basic.publish', 'publish'],
  ['basic.deliver', 'deliver'],
  ['basic.get-ok', 'deliver'],
  ['basic.return', 'return'],
]);

/** Methods without content that say how messages flow (see AmqpControl). */
const CONTROL_METHODS = new Set(['basic.consume', 'basic.consume-ok', 'basic.ack', 'basic.nack', 'basic.reject', 'basic.cancel',
  'queue.declare', 'queue.declare-ok', 'queue.bind']);

interface PendingMessage {
  method: MethodFrame;
  type: MessageType;
  header: ContentHeaderFrame | null;
  body: Uint8Array[];
  bodyBytes: number;
  /** Body captured without a hole so far, and how many bytes of it. */
  contiguous: boolean;
  captured: number;
  last: Frame;
}

const utf8 = new TextDecoder('utf-8');

function hashOf(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}

function finish(p: PendingMessage, connection: string): AmqpMessage {
  const raw = Buffer.concat(p.body);
  const bodyHead = utf8.decode(raw.subarray(0, MAX_MESSAGE_BODY_HEAD));
  const bodySize = p.header?.bodySize ?? null;
  const complete = p.contiguous && bodySize !== null && p.bodyBytes >= bodySize;
  const args = p.method.args;
  return {
    method: p.method.name,
    type: p.type,
    connection,
    direction: CONTENT_METHODS.get(p.method.name)!,
    channel: p.method.channel,
    exchange: args.exchange ?? null,
    routingKey: args.routingKey ?? null,
    deliveryTag: args.deliveryTag ?? null,
    consumerTag: args.consumerTag ?? null,
    properties: p.header?.properties ?? {},
    bodySize,
    bodyHead,
    bodyCaptured: p.captured,
    bodyPrefixHash: raw.length >= BODY_PREFIX_BYTES ? hashOf(raw.subarray(0, BODY_PREFIX_BYTES)) : complete ? hashOf(raw) : null,
    bodyHash: complete ? hashOf(raw.subarray(0, bodySize)) : null,
    bodyComplete: complete,
    oslo: parseOslo(bodyHead, complete),
    frame: {
      startPos: p.method.startPos,
      tsStartNs: p.method.tsStartNs,
      tsEndNs: p.last.tsEndNs,
      tid: p.method.tid,
      length: p.last.startPos + p.last.length - p.method.startPos,
      tcpSeq: p.method.tcpSeq,
      pid: p.method.pid,
      gid: p.method.gid,
    },
  };
}

/**
 * Assembles AMQP frames into messages as they come, per stream and channel: a content method, its content header,
 * its body frames. Control methods (AmqpControl) are handed on as they are. Counted as errors: content frames
 * without their method or header, and messages cut short by a new method on the channel (frames lost to a gap).
 * Messages still open at the end (capture stopped) are handed on as they are.
 */
export class AmqpAssembler {
  errorCount = 0;
  private readonly pending = new Map<string, PendingMessage>();
  constructor(
    private readonly emit: (op: AmqpOperation) => void,
    private readonly connection = '',
  ) {}

  private complete(key: string): void {
    const p = this.pending.get(key);
    if (p) this.emit({ control: false, message: finish(p, this.connection) });
    this.pending.delete(key);
  }

  push(f: AmqpFrame, type: MessageType): void {
    if (f.kind === 'protocol-header') return;
    const key = `${type}/${f.channel}`;
    const open = this.pending.get(key);
    if (f.kind === 'method') {
      if (open) {
        this.errorCount++; // the rest of its content was lost
        this.complete(key);
      }
      if (CONTENT_METHODS.has(f.name)) {
        this.pending.set(key, { method: f, type, header: null, body: [], bodyBytes: 0, contiguous: true, captured: 0, last: f });
      } else if (CONTROL_METHODS.has(f.name)) {
        this.emit({ control: true, message: { method: f.name, type, channel: f.channel, args: f.args, frame: f } });
      }
      return;
    }
    if (!open || (f.kind === 'content-header') !== (open.header === null)) {
      this.errorCount++; // content without its method (or a second header): lost frames
      return;
    }
    open.last = f;
    if (f.kind === 'content-header') open.header = f;
    else addBody(open, f);
    if (open.header && open.bodyBytes >= open.header.bodySize) this.complete(key);
  }

  end(): void {
    for (const key of [...this.pending.keys()]) this.complete(key);
  }
}

/**
 * Assembles the frames of one direction of one connection (in stream order) into messages (see AmqpAssembler),
 * in stream order. Control methods are left out.
 */
export function messagesOf(frames: readonly AmqpFrame[], connection = '', type: MessageType = 'request'): RecordsWithErrorCount<AmqpMessage> {
  const records: AmqpMessage[] = [];
  const a = new AmqpAssembler((op) => {
    if (!op.control) records.push(op.message);
  }, connection);
  for (const f of frames) a.push(f, type);
  a.end();
  records.sort((x, y) => x.frame.startPos - y.frame.startPos);
  return { records, errorCount: a.errorCount };
}

/** The AMQP stitcher for the connection driver: messages and control methods go to the sink, no calls. */
export function createAmqpStitcher(sink: StitchSink<AmqpOperation>): Stitcher<AmqpFrame> {
  const a = new AmqpAssembler((op) => sink.message(op));
  return {
    push: (f, type) => a.push(f, type),
    end: () => a.end(),
    get errorCount() {
      return a.errorCount;
    },
  };
}

function addBody(p: PendingMessage, f: BodyFrame): void {
  if (p.contiguous) {
    p.body.push(f.head);
    p.captured += f.head.length;
  }
  if (f.head.length < f.payloadSize) p.contiguous = false;
  p.bodyBytes += f.payloadSize;
}

/** A JSON string or scalar value of `key` in (possibly escaped, possibly truncated) JSON text; undefined if not seen. */
function jsonField(text: string, key: string): string | null | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`\\\\?"${escaped}\\\\?"\\s*:\\s*(?:\\\\?"([^"\\\\]*)\\\\?"|(null|true|false|-?[0-9][0-9.eE+-]*))`).exec(text);
  if (!m) return undefined;
  if (m[1] !== undefined) return m[1];
  return m[2] === 'null' ? null : m[2]!;
}

/** Whether `key` is present (its value may be cut off by the capture). */
function hasKey(text: string, key: string): boolean {
  return new RegExp(`\\\\?"${key}\\\\?"\\s*:`).test(text);
}

const ENVELOPE_FIRST_KEY = /"oslo\.message"\s*:\s*"\{\\"([^"\\]+)\\"/;
const PLAIN_FIRST_KEY = /^\s*\{\s*"([^"]+)"/;

/**
 * oslo.messaging fields of a body head (envelope `{"oslo.version": "2.0", "oslo.message": "<escaped JSON>"}`, or
 * the older unenveloped dict). Regexes on the text, so a head cut anywhere still yields the ids it holds. Ids in
 * `_context_trace_info` are never read (masked ground truth). Null if the body is not oslo.messaging's.
 */
export function parseOslo(body: string, complete: boolean): OsloFields | null {
  const enveloped = body.includes('"oslo.message"');
  const firstKey = (enveloped ? ENVELOPE_FIRST_KEY : PLAIN_FIRST_KEY).exec(body)?.[1];
  if (!enveloped && firstKey === undefined) return null;
  // Without the envelope only a dict that looks like oslo.messaging's counts.
  if (!enveloped && !['method', 'result', 'failure', 'ending', 'message_id', 'publisher_id', 'event_type', 'priority'].includes(firstKey!)) return null;
  const str = (key: string): string | null => {
    const v = jsonField(body, key);
    return typeof v === 'string' && v !== 'null' ? v : null;
  };
  const msgId = str('_msg_id');
  const replyQ = str('_reply_q');
  const uniqueId = str('_unique_id');
  const method = firstKey === 'method' ? str('method') : null;
  const eventType = str('event_type');
  let kind: OsloFields['kind'] = 'unknown';
  if (firstKey === 'result' || firstKey === 'failure' || firstKey === 'ending') kind = 'reply';
  else if (firstKey === 'method') {
    // _msg_id comes before _unique_id and the context: their presence without it means a cast.
    if (msgId !== null || replyQ !== null) kind = 'call';
    else if (complete || uniqueId !== null || hasKey(body, '_context_request_id')) kind = 'cast';
  } else if (eventType !== null || firstKey === 'message_id' || firstKey === 'publisher_id') kind = 'notification';
  let failed: boolean | null = null;
  if (kind === 'reply') {
    const failure = jsonField(body, 'failure');
    const result = jsonField(body, 'result');
    if (failure !== undefined) failed = failure !== null;
    else if (hasKey(body, 'failure')) failed = true; // a failure string cut off by the capture
    else if (result !== undefined && result !== null) failed = false;
    else if (firstKey === 'result' && !/"result\\"\s*:\s*null/.test(body)) failed = false; // a non-null result
  }
  return {
    kind,
    method,
    namespace: str('namespace'),
    version: str('version'),
    msgId,
    replyQ,
    uniqueId,
    requestId: str('_context_request_id'),
    globalRequestId: str('_context_global_request_id'),
    failed,
    eventType,
  };
}

function addId(ids: Record<string, string[]>, key: string, value: string | null | undefined): void {
  if (value === null || value === undefined || value === '') return;
  const list = (ids[key] ??= []);
  if (!list.includes(value)) list.push(value);
}

function idsOf(messages: readonly (AmqpMessage | null)[]): Record<string, string[]> {
  const ids: Record<string, string[]> = {};
  for (const m of messages) {
    if (!m?.oslo) continue;
    addId(ids, '_msg_id', m.oslo.msgId);
    addId(ids, '_unique_id', m.oslo.uniqueId);
    addId(ids, '_reply_q', m.oslo.replyQ);
    addId(ids, 'request_id', m.oslo.requestId);
    addId(ids, 'global_request_id', m.oslo.globalRequestId);
    addId(ids, 'message_id', m.properties.messageId);
    addId(ids, 'correlation_id', m.properties.correlationId);
  }
  return ids;
}

/** Direction in which the reply to a call travels, seen from the same process: publish <-> deliver. */
function replyDirection(call: AmqpMessage): AmqpMessage['direction'] {
  return call.direction === 'publish' ? 'deliver' : 'publish';
}

export interface StitchRpcOptions {
  /**
   * Return replies whose call was not among the messages as records of kind 'reply' (default true). Per-connection
   * stitching turns this off: there a reply usually travels on another connection than its call, and a record for
   * it would be a second span carrying the call's `_msg_id`.
   */
  unpairedReplies?: boolean;
}

/**
 * Pairs RPC calls with their replies by `_msg_id` among the messages of one process (all its connections: the
 * caller publishes on one and gets the reply on its reply-queue connection). A call published here (role client)
 * pairs with a reply delivered here; a call delivered here (role server) with a reply published here. Casts,
 * notifications and other messages become records without a reply; replies whose call was not seen become records
 * of kind 'reply'. Nothing here is an error (errorCount 0): messagesOf counts what was lost.
 */
export function stitchRpc(messages: readonly AmqpMessage[], options: StitchRpcOptions = {}): RecordsWithErrorCount<AmqpRecord> {
  const sorted = [...messages].sort((a, b) => (a.frame.tsStartNs < b.frame.tsStartNs ? -1 : a.frame.tsStartNs > b.frame.tsStartNs ? 1 : 0));
  const replies = new Map<string, AmqpMessage[]>();
  for (const m of sorted) {
    if (m.oslo?.kind === 'reply' && m.oslo.msgId) {
      const list = replies.get(m.oslo.msgId) ?? [];
      list.push(m);
      replies.set(m.oslo.msgId, list);
    }
  }
  const usedReplies = new Set<AmqpMessage>();
  const records: AmqpRecord[] = [];
  for (const m of sorted) {
    if (m.oslo?.kind === 'reply' || m.direction === 'return') continue;
    let reply: AmqpMessage | null = null;
    if (m.oslo?.kind === 'call' && m.oslo.msgId) {
      // Replies in the opposite direction, after the call; the last one ends the call (oslo may send a result, then `ending`).
      const candidates = (replies.get(m.oslo.msgId) ?? []).filter(
        (r) => r.direction === replyDirection(m) && r.frame.tsStartNs >= m.frame.tsStartNs && !usedReplies.has(r),
      );
      for (const r of candidates) usedReplies.add(r);
      reply = candidates[candidates.length - 1] ?? null;
    }
    records.push(recordOf(m, reply));
  }
  for (const m of sorted) {
    const unpairedReply = m.oslo?.kind === 'reply' && !usedReplies.has(m);
    if ((unpairedReply && options.unpairedReplies !== false) || m.direction === 'return') records.push(recordOf(m, null));
  }
  return { records, errorCount: 0 };
}

/** oslo.messaging's target from where a call or cast was sent (amqpdriver: topic, topic.server, topic_fanout). */
export function targetOf(m: AmqpMessage): { topic: string | null; server: string | null } {
  if (m.oslo?.kind !== 'call' && m.oslo?.kind !== 'cast') return { topic: null, server: null };
  if (m.exchange?.endsWith('_fanout')) return { topic: m.exchange.slice(0, -'_fanout'.length), server: null };
  if (!m.routingKey) return { topic: null, server: null };
  const dot = m.routingKey.indexOf('.');
  return dot < 0 ? { topic: m.routingKey, server: null } : { topic: m.routingKey.slice(0, dot), server: m.routingKey.slice(dot + 1) };
}

function recordOf(m: AmqpMessage, reply: AmqpMessage | null): AmqpRecord {
  const failed = (reply ?? (m.oslo?.kind === 'reply' ? m : null))?.oslo?.failed;
  const isReplyOnly = m.oslo?.kind === 'reply';
  return {
    protocol: 'amqp',
    method: m.oslo?.method ?? m.oslo?.eventType ?? (m.direction === 'publish' ? 'basic.publish' : m.direction === 'return' ? 'basic.return' : 'basic.deliver'),
    path: `${m.exchange ?? ''}/${m.routingKey ?? ''}`,
    status: m.direction === 'return' ? 'error' : reply || isReplyOnly ? (failed === true ? 'error' : 'ok') : null,
    req: m.frame,
    resp: reply?.frame ?? null,
    ids: idsOf([m, reply]),
    // Calls are published by clients and delivered to servers; replies the other way round.
    role: (m.direction === 'deliver') !== isReplyOnly ? 'server' : 'client',
    kind: m.oslo?.kind ?? 'message',
    ...targetOf(m),
    namespace: m.oslo?.namespace ?? null,
    request: m,
    reply,
  };
}

/** Body bytes two captured heads must share to count as the same message (bodies start with the envelope). */
const MIN_SHARED_BODY_CHARS = 64;

function sameBody(a: AmqpMessage, b: AmqpMessage): boolean {
  if (a.bodySize === null || a.bodySize !== b.bodySize || a.exchange !== b.exchange || a.routingKey !== b.routingKey) return false;
  const n = Math.min(a.bodyHead.length, b.bodyHead.length);
  if (n < Math.min(MIN_SHARED_BODY_CHARS, a.bodySize)) return false;
  return a.bodyHead.slice(0, n) === b.bodyHead.slice(0, n);
}

/**
 * Follows messages through the broker: each publish is linked to every delivery of the same message (fanout gives
 * several) by its `_unique_id`; when a capture head cut `_unique_id` off either side, by `_msg_id` and the same
 * kind (call with call, reply with reply); when the head holds no id at all (oslo puts args first: a 512-byte head
 * often ends inside them), by identical body bytes, size, exchange and routing key, taking per connection the
 * earliest delivery not yet linked. Deliveries must not start before the publish.
 */
export function matchRpc(messages: readonly AmqpMessage[]): BrokerHop[] {
  const byTime = [...messages].sort((a, b) => (a.frame.tsStartNs < b.frame.tsStartNs ? -1 : a.frame.tsStartNs > b.frame.tsStartNs ? 1 : 0));
  const delivers = byTime.filter((m) => m.direction === 'deliver');
  const byUnique = new Map<string, AmqpMessage[]>();
  const byMsgId = new Map<string, AmqpMessage[]>();
  for (const d of delivers) {
    if (d.oslo?.uniqueId) byUnique.set(d.oslo.uniqueId, [...(byUnique.get(d.oslo.uniqueId) ?? []), d]);
    if (d.oslo?.msgId) byMsgId.set(d.oslo.msgId, [...(byMsgId.get(d.oslo.msgId) ?? []), d]);
  }
  const hops: BrokerHop[] = [];
  const linked = new Set<AmqpMessage>();
  const link = (publish: AmqpMessage, deliver: AmqpMessage, by: BrokerHop['by']): void => {
    hops.push({ publish, deliver, by });
    linked.add(deliver);
  };
  const unmatched: AmqpMessage[] = [];
  for (const p of byTime) {
    if (p.direction !== 'publish') continue;
    const notBefore = (d: AmqpMessage): boolean => d.frame.tsStartNs >= p.frame.tsStartNs;
    const unique = p.oslo?.uniqueId ? (byUnique.get(p.oslo.uniqueId) ?? []).filter(notBefore) : [];
    for (const d of unique) link(p, d, '_unique_id');
    if (unique.length > 0) continue;
    let found = false;
    if (p.oslo?.msgId) {
      for (const d of (byMsgId.get(p.oslo.msgId) ?? []).filter(notBefore)) {
        const sameKind = (d.oslo!.kind === 'reply') === (p.oslo.kind === 'reply');
        const uniqueDisagrees = p.oslo.uniqueId !== null && d.oslo!.uniqueId !== null;
        if (sameKind && !uniqueDisagrees) {
          link(p, d, '_msg_id');
          found = true;
        }
      }
    }
    if (!found) unmatched.push(p);
  }
  // Last resort, after every id-based link is made so that body matching never steals an id-linked delivery.
  for (const p of unmatched) {
    const perConnection = new Map<string, AmqpMessage>();
    for (const d of delivers) {
      if (linked.has(d) || d.frame.tsStartNs < p.frame.tsStartNs || perConnection.has(d.connection)) continue;
      // Ids on both sides that disagree rule a pair out.
      if (p.oslo?.uniqueId && d.oslo?.uniqueId) continue;
      if (p.oslo?.msgId && d.oslo?.msgId && p.oslo.msgId !== d.oslo.msgId) continue;
      if (sameBody(p, d)) perConnection.set(d.connection, d);
    }
    for (const d of perConnection.values()) link(p, d, 'body');
  }
  hops.sort((a, b) => (a.publish.frame.tsStartNs < b.publish.frame.tsStartNs ? -1 : a.publish.frame.tsStartNs > b.publish.frame.tsStartNs ? 1 : 0));
  return hops;
}

/** One connection's two directions, already framed. */
export interface ConnectionFrames {
  connection: string;
  /** Client -> broker frames. */
  requests: readonly AmqpFrame[];
  /** Broker -> client frames. */
  responses: readonly AmqpFrame[];
}

/** messagesOf on every connection of one process, then stitchRpc over all of them. */
export function stitchConnections(
  connections: readonly ConnectionFrames[],
  options: StitchRpcOptions = {},
): RecordsWithErrorCount<AmqpRecord> & { messages: AmqpMessage[] } {
  const messages: AmqpMessage[] = [];
  let errorCount = 0;
  for (const c of connections) {
    for (const [frames, type] of [[c.requests, 'request'], [c.responses, 'response']] as const) {
      const r = messagesOf(frames, c.connection, type);
      messages.push(...r.records);
      errorCount += r.errorCount;
    }
  }
  const { records } = stitchRpc(messages, options);
  return { records, errorCount, messages };
}

/**
 * Per-connection stitching (for the registry): one record per call, cast or notification published or delivered
 * on this connection, paired with its reply only if the reply crossed this same connection. Replies without their
 * call here are left out (see StitchRpcOptions); stitchConnections over a process's connections pairs them.
 */
export function stitch(requests: readonly AmqpFrame[], responses: readonly AmqpFrame[]): RecordsWithErrorCount<AmqpRecord> {
  const { records, errorCount } = stitchConnections([{ connection: '', requests, responses }], { unpairedReplies: false });
  return { records, errorCount };
}
