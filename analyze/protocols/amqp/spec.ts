import type { ProtocolSpec } from '../protocol.js';
import { amqpMessageTable } from './messageTable.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { createAmqpStitcher } from './stitch.js';
import type { AmqpFrame, AmqpOperation } from './types.js';

/**
 * AMQP 0-9-1 as the analysis sees it, for ../registry.ts. A messaging protocol: its connections carry messages to
 * and from a broker, not calls, so its stitcher assembles messages into `amqp_messages`; following them through
 * the broker and pairing RPC calls with replies happens in SQL (analyze/messaging/).
 */
export const amqpSpec: ProtocolSpec<AmqpFrame, AmqpOperation> = {
  name: 'amqp',
  edgeKind: 'rpc',
  defaultPorts: [5672],
  // oslo.messaging's RPC context (`_context_request_id`, `_context_global_request_id`), named in analyze/messaging/messageSpans.ts
  requestIdFields: ['request_id', 'global_request_id'],
  resourceIdFields: {},
  resourcePaths: false,
  classify: (head) => (detect(head, 'request') ? 'request' : detect(head, 'response') ? 'response' : null),
  parseFrame: (stream, pos, type) => parseFrame(type, stream, pos),
  findFrameBoundary: (stream, pos, type) => findFrameBoundary(type, stream, pos),
  createStitcher: createAmqpStitcher,
  messages: amqpMessageTable,
};
