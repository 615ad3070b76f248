/**
 * Pairs memcached commands with replies. The server answers the commands of one connection in order
 * (https://github.com/memcached/memcached/blob/master/doc/protocol.txt), except commands sent with `noreply` (or the
 * meta `q` flag) and quit, which get none: pairing is first-in first-out over the commands that expect a reply.
 */
import { stitchAll, type Stitcher, type StitchSink } from '../protocol.js';
import type { RecordsWithErrorCount } from '../types.js';
import type { MemcachedFrame, MemcachedRecord } from './types.js';

const RETRIEVAL_COMMANDS = new Set(['get', 'gets', 'gat', 'gats', 'mg']);

/**
 * Pairs the commands and replies of one connection as they come. Counted as errors: replies older than their
 * command, and replies left over after every command. Commands without a reply get `resp: null`.
 */
export function createMemcachedStitcher(sink: StitchSink): Stitcher<MemcachedFrame> {
  const commands: MemcachedFrame[] = [];
  const replies: MemcachedFrame[] = [];
  let errorCount = 0;
  const emit = (req: MemcachedFrame, resp: MemcachedFrame | null): void => {
    const record: MemcachedRecord = {
      protocol: 'memcached',
      method: req.command,
      path: req.keys[0] ?? null,
      status: resp === null ? null : resp.error !== null ? 'error' : 'ok',
      req,
      resp,
      ids: {},
      hits: resp !== null && RETRIEVAL_COMMANDS.has(req.command) ? resp.valueCount : null,
    };
    sink.call(record);
  };
  const match = (): void => {
    for (;;) {
      const req = commands[0];
      if (!req) return;
      if (req.noreply) {
        emit(commands.shift()!, null);
        continue;
      }
      while (replies.length > 0 && replies[0]!.tsEndNs < req.tsStartNs) {
        errorCount++; // a reply whose command was not captured
        replies.shift();
      }
      if (replies.length === 0) return;
      emit(commands.shift()!, replies.shift()!);
    }
  };
  return {
    push(frame, type) {
      (type === 'request' ? commands : replies).push(frame);
      match();
    },
    end() {
      for (const req of commands.splice(0)) emit(req, null);
      errorCount += replies.splice(0).length;
    },
    get errorCount() {
      return errorCount;
    },
  };
}

/** Batch form of createMemcachedStitcher. */
export function stitch(requests: readonly MemcachedFrame[], responses: readonly MemcachedFrame[]): RecordsWithErrorCount<MemcachedRecord> {
  const { records, errorCount } = stitchAll(createMemcachedStitcher, requests, responses);
  return { records: records as MemcachedRecord[], errorCount };
}
