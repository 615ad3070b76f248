import { httpSpec } from './http/spec.js';
import type { ProtocolSpec } from './protocol.js';
import type { Frame } from './types.js';

/**
 * Every protocol the analysis parses, in the order a connection's first bytes are tried against them. Adding a
 * protocol means adding its spec here, once (tests check each protocol folder has an entry).
 */
export const protocols: readonly ProtocolSpec<Frame>[] = [httpSpec as unknown as ProtocolSpec<Frame>];
