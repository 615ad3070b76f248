import type { ProtocolSpec } from '../protocol.js';
import { classifyHttp, findHttpFrameBoundary, parseHttpFrame } from './parse.js';
import { stitchHttp } from './stitch.js';
import type { HttpMessage } from './types.js';

/** HTTP/1.x as the analysis sees it (registered in ../registry.ts). */
export const httpSpec: ProtocolSpec<HttpMessage> = {
  name: 'http',
  classify: classifyHttp,
  parseFrame: parseHttpFrame,
  findFrameBoundary: findHttpFrameBoundary,
  stitch: stitchHttp,
};
