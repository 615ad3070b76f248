/**
 * From AMQP frames to messages.
 *
 * AMQP is not request/response on one connection: an oslo.messaging RPC call is a basic.publish on one connection
 * of the caller, a basic.deliver on a connection of the server, a publish of the reply on the server (often another
 * connection), and a deliver of the reply on the caller's reply-queue connection. The broker sits in between, so TCP
 * sequence numbers cannot link the hops; ids in the body can:
 * - `_msg_id` is shared by a call and its reply (oslo_messaging/_drivers/amqpdriver.py),
 * - `_unique_id` is one per message (the call and the reply each have their own), the same on publish and deliver.
 * So the assembler here turns each connection direction's frames into messages with their oslo envelope fields
 * (`parseOslo`); linking them across connections, processes and the broker is relational work done in the engine
 * (analyze/messaging/: messageSpans, brokerHops, rpcPairs).
 */
import { createHash } from 'node:crypto';
import type { Stitcher, StitchSink } from '../protocol.js';
import type { Frame, MessageType, RecordsWithErrorCount } from '../types.js';
import type { AmqpFrame, AmqpMessage, AmqpOperation, BodyFrame, ContentHeaderFrame, MethodFrame, OsloFields } from './types.js';

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
  let re = FIELD_RULES.get(key);
  if (re === undefined) {
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = new RegExp(`\\\\?"${escaped}\\\\?"\\s*:\\s*(?:\\\\?"([^"\\\\]*)\\\\?"|(null|true|false|-?[0-9][0-9.eE+-]*))`);
    FIELD_RULES.set(key, re);
  }
  const m = re.exec(text);
  if (!m) return undefined;
  if (m[1] !== undefined) return m[1];
  return m[2] === 'null' ? null : m[2]!;
}

/** Whether `key` is present (its value may be cut off by the capture). */
function hasKey(text: string, key: string): boolean {
  let re = KEY_RULES.get(key);
  if (re === undefined) KEY_RULES.set(key, (re = new RegExp(`\\\\?"${key}\\\\?"\\s*:`)));
  return re.test(text);
}

/**
 * The rules of jsonField and hasKey by key, compiled once (a few fixed keys, read from every message body). Without
 * the g or y flag a RegExp keeps no state between calls.
 */
const FIELD_RULES = new Map<string, RegExp>();
const KEY_RULES = new Map<string, RegExp>();

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
