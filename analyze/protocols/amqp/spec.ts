import type { ProtocolSpec } from '../protocol.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { stitch } from './stitch.js';
import type { AmqpFrame } from './types.js';

/**
 * AMQP 0-9-1 as the analysis sees it, for ../registry.ts. Its per-connection `stitch` pairs a call with its reply
 * only when both cross this connection; to pair across a process's connections use stitchConnections, and to follow
 * messages through the broker matchRpc (./stitch.ts).
 */
export const amqpSpec: ProtocolSpec<AmqpFrame> = {
  name: 'amqp',
  classify: (head) => (detect(head, 'request') ? 'request' : detect(head, 'response') ? 'response' : null),
  parseFrame: (stream, pos, type) => parseFrame(type, stream, pos),
  findFrameBoundary: (stream, pos, type) => findFrameBoundary(type, stream, pos),
  stitch,
};
