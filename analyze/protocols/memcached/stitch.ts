/**
 * Pairs memcached commands with replies. The server answers the commands of one connection in order
 * (https://github.com/memcached/memcached/blob/master/doc/protocol.txt), except commands sent with `noreply` (or the
 * meta `q` flag) and quit, which get none: pairing is first-in first-out over the commands that expect a reply.
 */
import type { RecordsWithErrorCount } from '../types.js';
import type { MemcachedFrame, MemcachedRecord } from './types.js';

const RETRIEVAL_COMMANDS = new Set(['get', 'gets', 'gat', 'gats', 'mg']);

/**
 * Pairs the commands and replies of one connection (each in stream order). Counted as errors: replies older than
 * their command, and replies left over after every command. Commands without a reply get `resp: null`.
 */
export function stitch(requests: readonly MemcachedFrame[], responses: readonly MemcachedFrame[]): RecordsWithErrorCount<MemcachedRecord> {
  const records: MemcachedRecord[] = [];
  let errorCount = 0;
  let next = 0;
  for (const req of requests) {
    let resp: MemcachedFrame | null = null;
    if (!req.noreply) {
      while (next < responses.length && responses[next]!.tsEndNs < req.tsStartNs) {
        errorCount++; // a reply whose command was not captured
        next++;
      }
      resp = responses[next] ?? null;
      if (resp) next++;
    }
    records.push({
      protocol: 'memcached',
      method: req.command,
      path: req.keys[0] ?? null,
      status: resp === null ? null : resp.error !== null ? 'error' : 'ok',
      req,
      resp,
      ids: {},
      hits: resp !== null && RETRIEVAL_COMMANDS.has(req.command) ? resp.valueCount : null,
    });
  }
  errorCount += responses.length - next;
  return { records, errorCount };
}
