/**
 * AMQP 0-9-1 framing over a gapped stream: one frame per ParseResult. The 7-byte frame header gives the payload
 * size, so frames are stepped over even when their payload (a large body) was not captured. Assembling method +
 * header + body frames into messages is stitch.ts's job.
 * Spec: https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf §2.3.5 and §4.2.3 (frame format).
 */
import type { GappedStream } from '../gappedStream.js';
import type { MessageType, ParseResult } from '../types.js';
import type { AmqpFrame, AmqpProperties, MethodArgs } from './types.js';

/** Sent by the client first (§4.2.2): 'AMQP', 0, 0, 9, 1. */
export const PROTOCOL_HEADER = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01]);
/** Frame types (spec XML constants frame-method, frame-header, frame-body, frame-heartbeat). */
export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
/** Spec XML constant frame-end: the last byte of every frame. */
export const FRAME_END = 0xce;
/** type(1) + channel(2) + size(4). */
export const FRAME_HEADER_LENGTH = 7;
/**
 * Largest frame accepted. The negotiated frame-max is at most 2^32-1 in the spec but RabbitMQ caps it (default
 * 128 KiB, https://www.rabbitmq.com/docs/configure frame_max); 16 MiB rejects garbage without rejecting real traffic.
 */
export const MAX_FRAME_PAYLOAD = 16 * 1024 * 1024;
/** Body bytes kept per body frame (the capture keeps at most 64 KiB per syscall, with --snaplen-port). */
export const MAX_BODY_HEAD = 64 * 1024;

/**
 * Class and method names (spec XML amqp0-9-1.extended.xml, <class>/<method> index attributes). A hand table: the
 * XML is not vendored here, these ~50 pairs never change, and the few argument lists tracing needs are decoded by
 * hand below anyway; a generator would be more code than its output.
 */
const CLASS_NAMES: ReadonlyMap<number, string> = new Map([
  [10, 'connection'], [20, 'channel'], [40, 'exchange'], [50, 'queue'], [60, 'basic'], [85, 'confirm'], [90, 'tx'],
]);
const METHOD_NAMES: ReadonlyMap<number, string> = new Map([
  [10_10, 'start'], [10_11, 'start-ok'], [10_20, 'secure'], [10_21, 'secure-ok'], [10_30, 'tune'], [10_31, 'tune-ok'],
  [10_40, 'open'], [10_41, 'open-ok'], [10_50, 'close'], [10_51, 'close-ok'], [10_60, 'blocked'], [10_61, 'unblocked'],
  [20_10, 'open'], [20_11, 'open-ok'], [20_20, 'flow'], [20_21, 'flow-ok'], [20_40, 'close'], [20_41, 'close-ok'],
  [40_10, 'declare'], [40_11, 'declare-ok'], [40_20, 'delete'], [40_21, 'delete-ok'], [40_30, 'bind'], [40_31, 'bind-ok'],
  [40_40, 'unbind'], [40_51, 'unbind-ok'],
  [50_10, 'declare'], [50_11, 'declare-ok'], [50_20, 'bind'], [50_21, 'bind-ok'], [50_30, 'purge'], [50_31, 'purge-ok'],
  [50_40, 'delete'], [50_41, 'delete-ok'], [50_50, 'unbind'], [50_51, 'unbind-ok'],
  [60_10, 'qos'], [60_11, 'qos-ok'], [60_20, 'consume'], [60_21, 'consume-ok'], [60_30, 'cancel'], [60_31, 'cancel-ok'],
  [60_40, 'publish'], [60_50, 'return'], [60_60, 'deliver'], [60_70, 'get'], [60_71, 'get-ok'], [60_72, 'get-empty'],
  [60_80, 'ack'], [60_90, 'reject'], [60_100, 'recover-async'], [60_110, 'recover'], [60_111, 'recover-ok'], [60_120, 'nack'],
  [85_10, 'select'], [85_11, 'select-ok'],
  [90_10, 'select'], [90_11, 'select-ok'], [90_20, 'commit'], [90_21, 'commit-ok'], [90_30, 'rollback'], [90_31, 'rollback-ok'],
]);

/** Class ids with methods decoded below. */
const CLASS_CONNECTION = 10;
const CLASS_CHANNEL = 20;
const CLASS_EXCHANGE = 40;
const CLASS_QUEUE = 50;
const CLASS_BASIC = 60;

export function methodName(classId: number, methodId: number): string {
  const cls = CLASS_NAMES.get(classId);
  const method = METHOD_NAMES.get(classId * 100 + methodId);
  return cls && method ? `${cls}.${method}` : `${classId}.${methodId}`;
}

/** Big-endian field reader over a captured payload head; every read returns undefined past the captured bytes. */
class FieldReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  private take(n: number): Uint8Array | undefined {
    if (this.at + n > this.bytes.length) {
      this.at = this.bytes.length + 1;
      return undefined;
    }
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  octet(): number | undefined {
    return this.take(1)?.[0];
  }
  short(): number | undefined {
    const b = this.take(2);
    return b && (b[0]! << 8) | b[1]!;
  }
  long(): number | undefined {
    const b = this.take(4);
    return b && ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
  }
  longlong(): number | undefined {
    const hi = this.long();
    const lo = this.long();
    return hi === undefined || lo === undefined ? undefined : hi * 2 ** 32 + lo;
  }
  shortstr(): string | undefined {
    const n = this.octet();
    const b = n === undefined ? undefined : this.take(n);
    return b && Buffer.from(b).toString('utf8');
  }
  longstr(): Uint8Array | undefined {
    const n = this.long();
    return n === undefined ? undefined : this.take(n);
  }
  skip(n: number): boolean {
    return this.take(n) !== undefined;
  }
}

/** Field table (§4.2.5.5, RabbitMQ's type letters: https://www.rabbitmq.com/amqp-0-9-1-errata#section_3): string, number and boolean values. */
function readTable(r: FieldReader): Record<string, string | number | boolean> | undefined {
  const raw = r.longstr();
  if (raw === undefined) return undefined;
  const t = new FieldReader(raw);
  const out: Record<string, string | number | boolean> = {};
  for (;;) {
    const name = t.shortstr();
    const type = t.octet();
    if (name === undefined || type === undefined) return out;
    const letter = String.fromCharCode(type);
    let value: string | number | boolean | undefined;
    if (letter === 'S') value = (() => { const b = t.longstr(); return b && Buffer.from(b).toString('utf8'); })();
    else if (letter === 's') value = t.shortstr();
    else if (letter === 't') value = t.octet() === 1;
    else if (letter === 'b' || letter === 'B') value = t.octet();
    else if (letter === 'u' || letter === 'U') value = t.short();
    else if (letter === 'I' || letter === 'i') value = t.long();
    else if (letter === 'l' || letter === 'L' || letter === 'T') value = t.longlong();
    else if (letter === 'F' || letter === 'A' || letter === 'x') t.longstr(); // nested table, array, byte array: skipped
    else if (letter === 'f') t.skip(4);
    else if (letter === 'd') t.skip(8);
    else if (letter === 'D') t.skip(5);
    else if (letter === 'V') value = undefined;
    else return out; // unknown type: the rest cannot be read
    if (value !== undefined) out[name] = value;
  }
}

/** Arguments of the methods tracing needs (field order from the spec XML). Fields past the captured head are left out. */
function readMethodArgs(classId: number, methodId: number, r: FieldReader): MethodArgs {
  const args: MethodArgs = {};
  const set = <K extends keyof MethodArgs>(k: K, v: MethodArgs[K] | undefined): void => {
    if (v !== undefined) args[k] = v;
  };
  if (classId === CLASS_BASIC && methodId === 40) {
    // publish: reserved-1 short, exchange, routing-key, mandatory bit, immediate bit
    r.short();
    set('exchange', r.shortstr());
    set('routingKey', r.shortstr());
    const bits = r.octet();
    if (bits !== undefined) set('mandatory', (bits & 1) === 1);
  } else if (classId === CLASS_BASIC && methodId === 60) {
    // deliver: consumer-tag, delivery-tag, redelivered bit, exchange, routing-key
    set('consumerTag', r.shortstr());
    set('deliveryTag', r.longlong());
    const bits = r.octet();
    if (bits !== undefined) set('redelivered', (bits & 1) === 1);
    set('exchange', r.shortstr());
    set('routingKey', r.shortstr());
  } else if (classId === CLASS_BASIC && methodId === 71) {
    // get-ok: delivery-tag, redelivered, exchange, routing-key, message-count
    set('deliveryTag', r.longlong());
    const bits = r.octet();
    if (bits !== undefined) set('redelivered', (bits & 1) === 1);
    set('exchange', r.shortstr());
    set('routingKey', r.shortstr());
  } else if (classId === CLASS_BASIC && methodId === 50) {
    // return: reply-code, reply-text, exchange, routing-key
    set('replyCode', r.short());
    set('replyText', r.shortstr());
    set('exchange', r.shortstr());
    set('routingKey', r.shortstr());
  } else if (classId === CLASS_BASIC && (methodId === 20 || methodId === 70)) {
    // consume / get: reserved-1, queue, [consumer-tag]
    r.short();
    set('queue', r.shortstr());
    if (methodId === 20) set('consumerTag', r.shortstr());
  } else if (classId === CLASS_BASIC && (methodId === 21 || methodId === 30 || methodId === 31)) {
    set('consumerTag', r.shortstr()); // consume-ok, cancel, cancel-ok
  } else if (classId === CLASS_BASIC && (methodId === 80 || methodId === 90 || methodId === 120)) {
    set('deliveryTag', r.longlong()); // ack, reject, nack
  } else if (classId === CLASS_QUEUE && (methodId === 10 || methodId === 20 || methodId === 40 || methodId === 50)) {
    // declare / bind / delete / unbind: reserved-1, queue, [exchange, routing-key]
    r.short();
    set('queue', r.shortstr());
    if (methodId === 20 || methodId === 50) {
      set('exchange', r.shortstr());
      set('routingKey', r.shortstr());
    }
  } else if (classId === CLASS_QUEUE && methodId === 11) {
    set('queue', r.shortstr()); // declare-ok
  } else if (classId === CLASS_EXCHANGE && methodId === 10) {
    r.short();
    set('exchange', r.shortstr());
    set('exchangeType', r.shortstr());
  } else if ((classId === CLASS_CONNECTION && methodId === 50) || (classId === CLASS_CHANNEL && methodId === 40)) {
    // connection.close / channel.close: reply-code, reply-text
    set('replyCode', r.short());
    set('replyText', r.shortstr());
  }
  return args;
}

/** Basic properties in flag order, bit 15 first (§4.2.6.1; spec XML class basic <field>s). */
function readProperties(r: FieldReader, flags: number): AmqpProperties {
  const p: AmqpProperties = {};
  const has = (bit: number): boolean => (flags & (1 << bit)) !== 0;
  const set = <K extends keyof AmqpProperties>(k: K, v: AmqpProperties[K] | undefined): void => {
    if (v !== undefined) p[k] = v;
  };
  if (has(15)) set('contentType', r.shortstr());
  if (has(14)) set('contentEncoding', r.shortstr());
  if (has(13)) set('headers', readTable(r));
  if (has(12)) set('deliveryMode', r.octet());
  if (has(11)) set('priority', r.octet());
  if (has(10)) set('correlationId', r.shortstr());
  if (has(9)) set('replyTo', r.shortstr());
  if (has(8)) set('expiration', r.shortstr());
  if (has(7)) set('messageId', r.shortstr());
  if (has(6)) set('timestamp', r.longlong());
  if (has(5)) set('type', r.shortstr());
  if (has(4)) set('userId', r.shortstr());
  if (has(3)) set('appId', r.shortstr());
  return p;
}

function startsWithProtocolHeader(bytes: Uint8Array): boolean {
  for (let i = 0; i < Math.min(bytes.length, 4); i++) if (bytes[i] !== PROTOCOL_HEADER[i]) return false;
  return true;
}

/**
 * Parses the frame at `pos`. Heartbeats are `ignored`. A frame whose type is unknown, whose size is absurd, or
 * whose captured end byte is not 0xCE is `invalid`. The protocol header is accepted in requests.
 */
export function parseFrame(type: MessageType, stream: GappedStream, pos: number): ParseResult<AmqpFrame> {
  const head = stream.contiguousAt(pos, FRAME_HEADER_LENGTH);
  const atEnd = pos + head.length >= stream.length;
  if (type === 'request' && head.length > 0 && head[0] === PROTOCOL_HEADER[0]) {
    if (!startsWithProtocolHeader(head)) return { state: 'invalid', reason: 'amqp: bad protocol header' };
    if (pos + PROTOCOL_HEADER.length > stream.length) return { state: 'needs-more-data' };
    const h = stream.contiguousAt(pos, PROTOCOL_HEADER.length);
    if (h.length === PROTOCOL_HEADER.length && !h.every((b, i) => b === PROTOCOL_HEADER[i]))
      return { state: 'invalid', reason: 'amqp: unsupported protocol version' };
    return {
      state: 'ok',
      length: PROTOCOL_HEADER.length,
      frame: {
        kind: 'protocol-header', channel: 0, payloadSize: 0, hasGap: h.length < PROTOCOL_HEADER.length,
        startPos: pos, tsStartNs: stream.tsAt(pos), tsEndNs: stream.tsAt(pos + 7), tid: stream.tidAt(pos), length: 8,
      },
    };
  }
  if (head.length < FRAME_HEADER_LENGTH) {
    if (atEnd && head.length === stream.length - pos) {
      if (head.length > 0 && ![FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT].includes(head[0]!))
        return { state: 'invalid', reason: `amqp: unknown frame type ${head[0]}` };
      return { state: 'needs-more-data' };
    }
    return { state: 'invalid', reason: 'amqp: frame header not captured' };
  }
  const frameType = head[0]!;
  const channel = (head[1]! << 8) | head[2]!;
  const size = ((head[3]! << 24) >>> 0) + (head[4]! << 16) + (head[5]! << 8) + head[6]!;
  if (frameType !== FRAME_METHOD && frameType !== FRAME_HEADER && frameType !== FRAME_BODY && frameType !== FRAME_HEARTBEAT)
    return { state: 'invalid', reason: `amqp: unknown frame type ${frameType}` };
  if (size > MAX_FRAME_PAYLOAD) return { state: 'invalid', reason: `amqp: frame size ${size}` };
  if (frameType === FRAME_HEARTBEAT && (channel !== 0 || size !== 0)) return { state: 'invalid', reason: 'amqp: heartbeat with payload' };
  if ((frameType === FRAME_METHOD && size < 4) || (frameType === FRAME_HEADER && size < 14))
    return { state: 'invalid', reason: `amqp: frame type ${frameType} too short (${size})` };
  const length = FRAME_HEADER_LENGTH + size + 1;
  if (pos + length > stream.length) return { state: 'needs-more-data' };
  const end = stream.contiguousAt(pos + length - 1, 1);
  if (end.length === 1 && end[0] !== FRAME_END) return { state: 'invalid', reason: 'amqp: frame-end is not 0xCE' };
  if (frameType === FRAME_HEARTBEAT) return { state: 'ignored', length };

  const payload = stream.contiguousAt(pos + FRAME_HEADER_LENGTH, Math.min(size, frameType === FRAME_BODY ? MAX_BODY_HEAD : 65536));
  // Frame objects are written out field by field: object spread with bigint fields is slow in V8 (~10x here).
  const hasGap = !stream.isCaptured(pos, length);
  const tsStartNs = stream.tsAt(pos);
  const tsEndNs = stream.tsAt(pos + length - 1);
  const tid = stream.tidAt(pos);
  const r = new FieldReader(payload);
  if (frameType === FRAME_METHOD) {
    const classId = r.short();
    const methodId = r.short();
    // The frame header was captured but not its payload: keep framing, drop the frame.
    if (classId === undefined || methodId === undefined) return { state: 'ignored', length };
    const name = methodName(classId, methodId);
    const args = readMethodArgs(classId, methodId, r);
    return { state: 'ok', length, frame: { kind: 'method', channel, payloadSize: size, hasGap, startPos: pos, tsStartNs, tsEndNs, tid, length, classId, methodId, name, args } };
  }
  if (frameType === FRAME_HEADER) {
    const classId = r.short();
    r.short(); // weight, unused
    const bodySize = r.longlong();
    const flags = r.short();
    if (classId === undefined || bodySize === undefined || flags === undefined) return { state: 'ignored', length };
    const properties = readProperties(r, flags);
    return { state: 'ok', length, frame: { kind: 'content-header', channel, payloadSize: size, hasGap, startPos: pos, tsStartNs, tsEndNs, tid, length, classId, bodySize, properties } };
  }
  return { state: 'ok', length, frame: { kind: 'body', channel, payloadSize: size, hasGap, startPos: pos, tsStartNs, tsEndNs, tid, length, head: payload } };
}

/** Resync is pickier than parsing: RabbitMQ's default frame_max is 128 KiB and clients never raise it. */
const RESYNC_MAX_FRAME_PAYLOAD = 1024 * 1024;

/** True if captured bytes at `bytes[i..]` plausibly start a frame (known type, sane size, channel, frame-end if seen). */
function looksLikeFrame(bytes: Uint8Array, i: number): boolean {
  if (i + FRAME_HEADER_LENGTH > bytes.length) return false;
  const t = bytes[i]!;
  if (t !== FRAME_METHOD && t !== FRAME_HEADER && t !== FRAME_BODY && t !== FRAME_HEARTBEAT) return false;
  const channel = (bytes[i + 1]! << 8) | bytes[i + 2]!;
  if (channel > 2047) return false; // RabbitMQ's default channel_max
  const size = ((bytes[i + 3]! << 24) >>> 0) + (bytes[i + 4]! << 16) + (bytes[i + 5]! << 8) + bytes[i + 6]!;
  if (size > RESYNC_MAX_FRAME_PAYLOAD) return false;
  if (t === FRAME_HEARTBEAT && (channel !== 0 || size !== 0)) return false;
  // Content headers carry class basic (60) first.
  if (t === FRAME_HEADER && (size < 14 || (i + 8 < bytes.length && (bytes[i + 7] !== 0 || bytes[i + 8] !== CLASS_BASIC)))) return false;
  if (t === FRAME_METHOD && (size < 4 || i + 8 < bytes.length && !CLASS_NAMES.has((bytes[i + 7]! << 8) | bytes[i + 8]!))) return false;
  const endAt = i + FRAME_HEADER_LENGTH + size;
  return endAt >= bytes.length || bytes[endAt] === FRAME_END;
}

/** First position at or after `from` where a frame plausibly starts (frame-end checked when captured), or -1. */
export function findFrameBoundary(type: MessageType, stream: GappedStream, from: number): number {
  let p = Math.max(0, from);
  while (p < stream.length) {
    const run = stream.contiguousAt(p, 65536 + 16);
    if (run.length === 0) {
      p = stream.nextChunkStart(p);
      if (p < 0) return -1;
      continue;
    }
    const scan = Math.max(1, run.length - 16);
    for (let i = 0; i < Math.min(run.length, scan); i++) {
      if (looksLikeFrame(run, i)) return p + i;
      if (type === 'request' && run[i] === PROTOCOL_HEADER[0] && startsWithProtocolHeader(run.subarray(i))) return p + i;
    }
    p += scan;
  }
  return -1;
}

/** Whether a connection's first bytes look like AMQP 0-9-1: the protocol header (client) or connection.start (server). Port 5672 is a hint. */
export function detect(head: Uint8Array, type: MessageType): boolean {
  if (type === 'request') return head.length >= 4 && startsWithProtocolHeader(head);
  // connection.start: method frame on channel 0, class 10 method 10, version-major 0, version-minor 9.
  return (
    head.length >= 13 && head[0] === FRAME_METHOD && head[1] === 0 && head[2] === 0 &&
    head[7] === 0 && head[8] === 10 && head[9] === 0 && head[10] === 10 && head[11] === 0 && head[12] === 9
  );
}
