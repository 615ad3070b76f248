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
 * Reply words each command can get (protocol.txt), besides the errors every command can get. A reply that cannot
 * answer the oldest waiting command but can answer the next one means the oldest lost its reply (the capture
 * dropped it): pairing resyncs instead of shifting every later pair by one.
 */
const REPLIES_OF: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    get: ['VALUE', 'END'], gets: ['VALUE', 'END'], gat: ['VALUE', 'END'], gats: ['VALUE', 'END'],
    set: ['STORED', 'NOT_STORED'], add: ['STORED', 'NOT_STORED'], replace: ['STORED', 'NOT_STORED'],
    append: ['STORED', 'NOT_STORED'], prepend: ['STORED', 'NOT_STORED'], cas: ['STORED', 'EXISTS', 'NOT_FOUND'],
    delete: ['DELETED', 'NOT_FOUND'], touch: ['TOUCHED', 'NOT_FOUND'],
    mg: ['VA', 'HD', 'EN'], ms: ['HD', 'NS', 'EX', 'NF'], md: ['HD', 'NF', 'EX'], ma: ['HD', 'VA', 'NF', 'NS', 'EX'], mn: ['MN'],
  }).map(([k, v]) => [k, new Set(v)]),
);
const ANY_COMMAND_REPLIES = new Set(['ERROR', 'CLIENT_ERROR', 'SERVER_ERROR']);

/** Whether `reply` can answer `req` (unknown commands and numeric incr/decr replies: yes). */
function canAnswer(req: MemcachedFrame, reply: MemcachedFrame): boolean {
  const words = REPLIES_OF.get(req.command);
  if (!words || ANY_COMMAND_REPLIES.has(reply.command)) return true;
  return words.has(reply.command);
}

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
      const reply = replies[0]!;
      if (!canAnswer(req, reply)) {
        const next = commands.slice(1).find((c) => !c.noreply);
        if (next === undefined) return; // wait: the next command may show whose reply this is
        errorCount++;
        if (canAnswer(next, reply)) emit(commands.shift()!, null); // this command's reply was lost
        else replies.shift(); // a reply no waiting command can take
        continue;
      }
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
