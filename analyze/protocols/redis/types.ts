import type { Frame } from '../types.js';

/**
 * RESP value types, named as in the spec (https://redis.io/docs/latest/develop/reference/protocol-spec/).
 * RESP2: simple-string, error, integer, bulk-string, array. RESP3 adds the rest. `inline` is the space-separated
 * command form a client may send instead of an array (https://redis.io/docs/latest/develop/reference/protocol-spec/#inline-commands).
 */
export type RespKind =
  | 'simple-string'
  | 'error'
  | 'integer'
  | 'bulk-string'
  | 'array'
  | 'null'
  | 'double'
  | 'boolean'
  | 'bulk-error'
  | 'verbatim-string'
  | 'big-number'
  | 'map'
  | 'set'
  | 'push'
  | 'inline';

/** One top-level RESP value (a request command or a reply). */
export interface RedisFrame extends Frame {
  kind: RespKind;
  /**
   * Heads of the value as text: for scalars one entry; for aggregates (array/map/set/push/inline) the top-level
   * elements in order, nested aggregates as `[...]`, at most `MAX_ELEMENTS` entries of at most `MAX_VALUE_CHARS`
   * characters each. Uncaptured bytes are left out (a bulk string whose tail fell in a gap keeps only its head).
   */
  values: string[];
  /** Elements declared by a top-level aggregate (maps count keys and values); -1 for a RESP2 null; null for scalars. */
  count: number | null;
  /** True if some bytes of the frame were not captured (their length came from the protocol or was guessed). */
  hasGap: boolean;
  /**
   * True if a gap hid where the value ends (e.g. the header of an array element was not captured): the frame is
   * then assumed to end with the syscall that holds the gap, the usual case for one reply per write.
   */
  lengthGuessed: boolean;
}

/** Most elements kept in `RedisFrame.values`. */
export const MAX_ELEMENTS = 16;
/** Most characters kept per element in `RedisFrame.values`. */
export const MAX_VALUE_CHARS = 256;
