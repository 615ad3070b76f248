import type { ProtocolSpec } from '../protocol.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { createMysqlStitcher, SQL_REQUEST_ID_FIELD } from './stitch.js';
import type { MysqlPacket } from './types.js';

/** MySQL/MariaDB as the analysis sees it, for ../registry.ts. The server speaks first (greeting). */
export const mysqlSpec: ProtocolSpec<MysqlPacket> = {
  name: 'mysql',
  edgeKind: 'db',
  defaultPorts: [3306],
  requestIdFields: [SQL_REQUEST_ID_FIELD],
  classify: (head) => (detect(head, 'response') ? 'response' : detect(head, 'request') ? 'request' : null),
  parseFrame: (stream, pos, type) => parseFrame(type, stream, pos),
  findFrameBoundary: (stream, pos, type) => findFrameBoundary(type, stream, pos),
  createStitcher: createMysqlStitcher,
};
