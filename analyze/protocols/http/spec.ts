import type { ProtocolSpec } from '../protocol.js';
import { classifyHttp, findHttpFrameBoundary, parseHttpFrame } from './parse.js';
import { createHttpStitcher } from './stitch.js';
import { HTTP_REQUEST_ID_FIELDS, type HttpMessage } from './types.js';

/** HTTP/1.x as the analysis sees it (registered in ../registry.ts). No default port: HTTP is told by its bytes. */
export const httpSpec: ProtocolSpec<HttpMessage> = {
  name: 'http',
  edgeKind: 'http',
  defaultPorts: [],
  requestIdFields: HTTP_REQUEST_ID_FIELDS,
  resourceIdFields: {},
  resourcePaths: true,
  classify: classifyHttp,
  parseFrame: parseHttpFrame,
  findFrameBoundary: findHttpFrameBoundary,
  createStitcher: createHttpStitcher,
};
