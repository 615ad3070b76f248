import type { Frame, MessageType } from '../types.js';

/**
 * AMQP 0-9-1 frames (spec: https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf §4.2.3, grammar in
 * https://www.rabbitmq.com/resources/specs/amqp0-9-1.extended.xml). Every frame is
 * `type(1) channel(2) size(4) payload(size) 0xCE`, except the 8-byte protocol header a client sends first.
 */
interface AmqpFrameBase extends Frame {
  channel: number;
  /** Payload size from the frame header (the frame is 8 bytes longer). */
  payloadSize: number;
  /** True if some bytes of the frame were not captured. */
  hasGap: boolean;
}

/** `AMQP\x00\x00\x09\x01`, sent once by the client before any frame. */
export interface ProtocolHeaderFrame extends AmqpFrameBase {
  kind: 'protocol-header';
}

/** Arguments of the methods tracing needs, decoded when captured (field order from the spec XML). */
export interface MethodArgs {
  exchange?: string;
  routingKey?: string;
  queue?: string;
  consumerTag?: string;
  /** bigint on the wire; a number is exact up to 2^53 deliveries per channel. */
  deliveryTag?: number;
  redelivered?: boolean;
  mandatory?: boolean;
  /** exchange.declare's type (topic, direct, fanout). */
  exchangeType?: string;
  /** connection.close / channel.close / basic.return. */
  replyCode?: number;
  replyText?: string;
}

export interface MethodFrame extends AmqpFrameBase {
  kind: 'method';
  classId: number;
  methodId: number;
  /** `class.method` as in the spec (basic.publish); `<class>.<method>` numbers when unknown. */
  name: string;
  args: MethodArgs;
}

/** Basic content properties (spec XML class "basic", §4.2.6.1 property flags). Only the present ones are set. */
export interface AmqpProperties {
  contentType?: string;
  contentEncoding?: string;
  /** Headers table; string and number values only (others are skipped). */
  headers?: Record<string, string | number | boolean>;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
}

export interface ContentHeaderFrame extends AmqpFrameBase {
  kind: 'content-header';
  classId: number;
  /** Size of the whole body that follows in body frames. */
  bodySize: number;
  properties: AmqpProperties;
}

export interface BodyFrame extends AmqpFrameBase {
  kind: 'body';
  /** Captured head of this body frame's payload (shorter than payloadSize after a gap). */
  head: Uint8Array;
}

export type AmqpFrame = ProtocolHeaderFrame | MethodFrame | ContentHeaderFrame | BodyFrame;

/**
 * What oslo.messaging puts in a message body: `{"oslo.version": "2.0", "oslo.message": "<JSON string>"}`
 * (oslo_messaging/_drivers/common.py serialize_msg). Read from the captured body head, possibly truncated: a
 * field past the head is null.
 */
export interface OsloFields {
  /** 'call' (has _msg_id and method), 'cast' (method, no _msg_id), 'reply' (result/failure/ending), 'notification' (event_type). */
  kind: 'call' | 'cast' | 'reply' | 'notification' | 'unknown';
  method: string | null;
  namespace: string | null;
  version: string | null;
  msgId: string | null;
  replyQ: string | null;
  uniqueId: string | null;
  requestId: string | null;
  globalRequestId: string | null;
  /** Replies: true if `failure` is not null (a remote exception); null if not captured. */
  failed: boolean | null;
  eventType: string | null;
}

/** One published or delivered message: method frame + content header + body frames on one channel. */
export interface AmqpMessage {
  /** AMQP method that carried it: basic.publish, basic.deliver, basic.get-ok or basic.return. */
  method: string;
  /** Which stream of the connection it was on: `request` (client -> broker) or `response` (broker -> client). */
  type: MessageType;
  /** Caller-chosen label of the TCP connection (e.g. "pid/fd" or a 4-tuple); '' if not given. */
  connection: string;
  /** publish: client -> broker; deliver: broker -> client (basic.deliver, basic.get-ok); return: unroutable, sent back. */
  direction: 'publish' | 'deliver' | 'return';
  channel: number;
  exchange: string | null;
  routingKey: string | null;
  deliveryTag: number | null;
  consumerTag: string | null;
  properties: AmqpProperties;
  /** Body size from the content header (null if the header was lost). */
  bodySize: number | null;
  /** Captured head of the body, decoded as UTF-8. */
  bodyHead: string;
  /** Body bytes captured without a hole from the body's start. */
  bodyCaptured: number;
  /**
   * Hashes of the body bytes as they travel (the broker passes bodies unchanged), for following a message through
   * the broker: of its first BODY_PREFIX_BYTES bytes when that many were captured, and of the whole body when it
   * was captured whole; null otherwise.
   */
  bodyPrefixHash: string | null;
  bodyHash: string | null;
  /** True if every body byte was captured. */
  bodyComplete: boolean;
  oslo: OsloFields | null;
  /** Span of the message on the stream: method frame to last body frame. */
  frame: Frame;
}

/**
 * A method without content that tells how messages flow: basic.consume / consume-ok (queue <-> consumer tag),
 * basic.ack / nack / reject (a delivery handled), queue.declare(-ok) / queue.bind (queue <-> exchange, routing key).
 */
export interface AmqpControl {
  method: string;
  type: MessageType;
  channel: number;
  args: MethodArgs;
  frame: Frame;
}

/** What the AMQP stitcher hands on: a message or a control method. */
export type AmqpOperation = { control: false; message: AmqpMessage } | { control: true; message: AmqpControl };
