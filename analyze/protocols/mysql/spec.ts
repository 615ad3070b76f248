import type { ProtocolSpec } from '../protocol.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { createMysqlStitcher, SQL_REQUEST_ID_FIELD, SQL_RESOURCE_ID_FIELDS } from './stitch.js';
import type { MysqlPacket } from './types.js';

/** MySQL/MariaDB as the analysis sees it, for ../registry.ts. The server speaks first (greeting). */
export const mysqlSpec: ProtocolSpec<MysqlPacket> = {
  name: 'mysql',
  edgeKind: 'db',
  defaultPorts: [3306],
  requestIdFields: [SQL_REQUEST_ID_FIELD],
  resourceIdFields: SQL_RESOURCE_ID_FIELDS,
  resourcePaths: false,
  // oslo.db checks a pooled connection out with a ping; SQLAlchemy gives it back with a ROLLBACK (after a COMMIT for writes)
  pooledSessions: { begin: ['SELECT ?'], end: ['ROLLBACK', 'COMMIT'] },
  classify: (head) => (detect(head, 'response') ? 'response' : detect(head, 'request') ? 'request' : null),
  parseFrame: (stream, pos, type) => parseFrame(type, stream, pos),
  findFrameBoundary: (stream, pos, type) => findFrameBoundary(type, stream, pos),
  createStitcher: createMysqlStitcher,
};
