import { amqpSpec } from './amqp/spec.js';
import { httpSpec } from './http/spec.js';
import { memcachedSpec } from './memcached/spec.js';
import { mysqlSpec } from './mysql/spec.js';
import type { ProtocolSpec, ResourceIdKind } from './protocol.js';
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

/**
 * What the correlators ask of protocols, as protocol names (analyze/correlate names none itself): messaging protocols
 * (spans from messages through a broker: ProtocolSpec.messages), protocols whose call paths name resources, and
 * protocols whose connections are lent out in sessions.
 */
export const messagingProtocols: readonly string[] = protocols.filter((p) => p.messages !== undefined).map((p) => p.name);
export const resourcePathProtocols: readonly string[] = protocols.filter((p) => p.resourcePaths).map((p) => p.name);
export const pooledSessionProtocols: readonly string[] = protocols.filter((p) => p.pooledSessions !== undefined).map((p) => p.name);
/** The paths that begin and end a pooled session, over every protocol that has them. */
export const sessionBeginPaths: readonly string[] = [...new Set(protocols.flatMap((p) => p.pooledSessions?.begin ?? []))];
export const sessionEndPaths: readonly string[] = [...new Set(protocols.flatMap((p) => p.pooledSessions?.end ?? []))];

/** Span id fields that name resources, with their kind, over every protocol (each spec names its own). */
export const resourceIdFields: Readonly<Record<string, ResourceIdKind>> = Object.fromEntries(protocols.flatMap((p) => Object.entries(p.resourceIdFields)));
/** The fields of kind `row_id`: kept out of `span_ids`, in `span_row_ids` (see ProtocolSpec.resourceIdFields). */
export const rowIdFields: readonly string[] = Object.entries(resourceIdFields).filter(([, kind]) => kind === 'row_id').map(([f]) => f);
