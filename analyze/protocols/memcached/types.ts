import type { CallRecord, Frame } from '../types.js';

/**
 * One memcached text-protocol command or reply (https://github.com/memcached/memcached/blob/master/doc/protocol.txt):
 * a line, plus a data block for storage commands and values. A retrieval reply (VALUE ... END) or a stats reply
 * (STAT ... END) is one frame.
 */
export interface MemcachedFrame extends Frame {
  /** Request: the command (get, set, mg, ...). Response: the first word (VALUE, STORED, END, HD, VA, a number, ...). */
  command: string;
  /** Request: the keys named (retrieval commands may name many), at most MAX_KEYS. Response: keys of the VALUEs. */
  keys: string[];
  /** Request: no reply will come (`noreply`, meta `q` flag, quit). */
  noreply: boolean;
  /** Response: values returned (VALUE / VA blocks). */
  valueCount: number;
  /** Response: the error line (ERROR, CLIENT_ERROR ..., SERVER_ERROR ...), else null. */
  error: string | null;
  /** True if some bytes were not captured. */
  hasGap: boolean;
  /** True if a gap hid where the frame ends: it is assumed to end with the syscall holding the gap. */
  lengthGuessed: boolean;
}

export const MAX_KEYS = 16;

export interface MemcachedRecord extends CallRecord {
  protocol: 'memcached';
  req: MemcachedFrame;
  resp: MemcachedFrame | null;
  /** Retrieval commands: values returned (hits), else null. */
  hits: number | null;
}
