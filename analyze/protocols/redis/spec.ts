import type { ProtocolSpec } from '../protocol.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { createRedisStitcher } from './stitch.js';
import type { RedisFrame } from './types.js';

/** Redis (RESP2/RESP3) as the analysis sees it, for ../registry.ts. */
export const redisSpec: ProtocolSpec<RedisFrame> = {
  name: 'redis',
  edgeKind: 'cache',
  defaultPorts: [6379],
  requestIdFields: [],
  resourceIdFields: {},
  resourcePaths: false,
  classify: (head) => (detect(head, 'request') ? 'request' : detect(head, 'response') ? 'response' : null),
  parseFrame: (stream, pos, type) => parseFrame(type, stream, pos),
  findFrameBoundary: (stream, pos, type) => findFrameBoundary(type, stream, pos),
  createStitcher: createRedisStitcher,
};
