import { amqpSpec } from './amqp/spec.js';
import { httpSpec } from './http/spec.js';
import { memcachedSpec } from './memcached/spec.js';
import { mysqlSpec } from './mysql/spec.js';
import type { ProtocolSpec } from './protocol.js';
import { redisSpec } from './redis/spec.js';
import type { Frame } from './types.js';

/**
 * Every protocol the analysis parses, in the order a connection's first bytes are tried against them (protocols with
 * unmistakable starts first, memcached's loose text commands last). Adding a protocol means adding its spec here, once; registry.test.ts
 * checks every protocol folder with a spec.ts is listed.
 */
export const protocols: readonly ProtocolSpec<Frame>[] = [httpSpec, amqpSpec, redisSpec, mysqlSpec, memcachedSpec] as unknown as ProtocolSpec<Frame>[];

/**
 * Well-known server ports, used only when no protocol recognises a connection's first captured bytes: a
 * connection already open when the capture began shows no handshake and may start mid-frame (the framing loop
 * then resyncs). IANA / vendor defaults.
 */
export const DEFAULT_SERVER_PORTS: Readonly<Partial<Record<ProtocolSpec['name'], readonly number[]>>> = {
  mysql: [3306],
  amqp: [5672],
  redis: [6379],
  memcached: [11211],
};
