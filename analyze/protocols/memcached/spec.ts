import type { ProtocolSpec } from '../protocol.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { createMemcachedStitcher } from './stitch.js';
import type { MemcachedFrame } from './types.js';

/** memcached's text protocol as the analysis sees it, for ../registry.ts. */
export const memcachedSpec: ProtocolSpec<MemcachedFrame> = {
  name: 'memcached',
  edgeKind: 'cache',
  defaultPorts: [11211],
  requestIdFields: [],
  resourceIdFields: {},
  resourcePaths: false,
  classify: (head) => (detect(head, 'request') ? 'request' : detect(head, 'response') ? 'response' : null),
  parseFrame: (stream, pos, type) => parseFrame(type, stream, pos),
  findFrameBoundary: (stream, pos, type) => findFrameBoundary(type, stream, pos),
  createStitcher: createMemcachedStitcher,
};
