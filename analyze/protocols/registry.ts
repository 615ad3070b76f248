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
export const protocols: readonly ProtocolSpec<Frame, unknown>[] = [httpSpec, amqpSpec, redisSpec, mysqlSpec, memcachedSpec] as unknown as ProtocolSpec<Frame, unknown>[];

/** The spec of a protocol by name. */
export function protocolNamed(name: string): ProtocolSpec<Frame, unknown> | undefined {
  return protocols.find((p) => p.name === name);
}

/** Span id fields that hold a request id passed along a whole request, over every protocol (each spec names its own). */
export const requestIdFields: readonly string[] = [...new Set(protocols.flatMap((p) => p.requestIdFields))];
