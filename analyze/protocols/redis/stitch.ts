/**
 * Pairs Redis commands with replies. Redis answers the commands of one connection in order, pipelined or not
 * (https://redis.io/docs/latest/develop/use/pipelining/), so pairing is first-in first-out; pub/sub messages are
 * pushed without a command and are skipped.
 */
import { stitchAll, type Stitcher, type StitchSink } from '../protocol.js';
import type { CallRecord, RecordsWithErrorCount } from '../types.js';
import type { RedisFrame } from './types.js';

export interface RedisRecord extends CallRecord {
  protocol: 'redis';
  req: RedisFrame;
  resp: RedisFrame | null;
}

/** Commands whose arguments are not keys: their record has no path. */
const KEYLESS_COMMANDS = new Set([
  'ACL', 'AUTH', 'BGREWRITEAOF', 'BGSAVE', 'CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG', 'DBSIZE', 'DEBUG', 'DISCARD',
  'ECHO', 'EXEC', 'FLUSHALL', 'FLUSHDB', 'FUNCTION', 'HELLO', 'INFO', 'LASTSAVE', 'LATENCY', 'MEMORY', 'MODULE',
  'MONITOR', 'MULTI', 'PING', 'QUIT', 'RANDOMKEY', 'READONLY', 'READWRITE', 'REPLICAOF', 'RESET', 'ROLE', 'SAVE',
  'SCAN', 'SCRIPT', 'SELECT', 'SHUTDOWN', 'SLAVEOF', 'SLOWLOG', 'SWAPDB', 'TIME', 'UNWATCH', 'WAIT',
]);
/** Commands with `numkeys` as second argument and the first key third: EVAL script numkeys key... */
const NUMKEYS_COMMANDS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO']);
/** Subscriptions: one confirmation per channel argument (https://redis.io/docs/latest/develop/interact/pubsub/). */
const SUBSCRIBE_COMMANDS = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE']);
/** First element of a published message delivered to a subscriber. */
const PUBSUB_MESSAGE_KINDS = new Set(['message', 'pmessage', 'smessage']);

/** The upper-case command name of a request frame (null for an empty array). */
export function commandOf(req: RedisFrame): string | null {
  const word = req.values[0];
  return word === undefined || word === '' ? null : word.toUpperCase();
}

/**
 * OSProfiler's redis driver stores each trace under `osprofiler_opt:<base_id>`: the key is ground truth, so the part
 * after the prefix is replaced (as the capture masks other ground truth) before it can become a record's path.
 */
const GROUND_TRUTH_KEY = /^(osprofiler_opt:)(.+)$/;

/** The first key a command names, or null (keyless commands, keys hidden by a gap). Ground-truth keys are masked. */
export function firstKeyOf(req: RedisFrame): string | null {
  const key = firstKeyUnmasked(req);
  return key === null ? null : key.replace(GROUND_TRUTH_KEY, (_m, prefix: string, id: string) => prefix + 'x'.repeat(id.length));
}

function firstKeyUnmasked(req: RedisFrame): string | null {
  const command = commandOf(req);
  if (command === null || KEYLESS_COMMANDS.has(command)) return null;
  if (NUMKEYS_COMMANDS.has(command)) return Number(req.values[2]) > 0 ? (req.values[3] ?? null) : null;
  if (command === 'XREAD' || command === 'XREADGROUP') {
    const streams = req.values.findIndex((v) => v.toUpperCase() === 'STREAMS');
    return streams > 0 ? (req.values[streams + 1] ?? null) : null;
  }
  if (command === 'BITOP' || command === 'OBJECT') return req.values[2] ?? null;
  return req.values[1] ?? null;
}

function isPubSubMessage(resp: RedisFrame, subscribed: boolean): boolean {
  if (resp.kind !== 'push' && !(subscribed && resp.kind === 'array')) return false;
  return PUBSUB_MESSAGE_KINDS.has(resp.values[0] ?? '');
}

function isError(resp: RedisFrame): boolean {
  return resp.kind === 'error' || resp.kind === 'bulk-error';
}

/**
 * Pairs the requests and responses of one connection as they come: each command takes the next replies in order
 * (subscriptions one per channel), skipping pushed pub/sub messages. Counted as errors: a reply that ends before
 * its command starts (its command was not captured) and replies left over after every command; commands left
 * without a reply (capture ended) get `resp: null`.
 */
export function createRedisStitcher(sink: StitchSink): Stitcher<RedisFrame> {
  /** Commands waiting for replies, oldest first; replies not yet taken. */
  const commands: { req: RedisFrame; command: string | null; replies: number; resp: RedisFrame | null; taken: number }[] = [];
  const replies: RedisFrame[] = [];
  let subscribed = false;
  let errorCount = 0;
  const emit = (c: (typeof commands)[number]): void => {
    sink.call({ protocol: 'redis', method: c.command, path: firstKeyOf(c.req), status: c.resp === null ? null : isError(c.resp) ? 'error' : 'ok', req: c.req, resp: c.resp, ids: {} } as RedisRecord);
  };
  const match = (): void => {
    while (commands.length > 0 && replies.length > 0) {
      const c = commands[0]!;
      const candidate = replies.shift()!;
      if (isPubSubMessage(candidate, subscribed)) continue;
      if (candidate.tsEndNs < c.req.tsStartNs) {
        errorCount++; // a reply older than the command: its command was not captured
        continue;
      }
      c.resp ??= candidate;
      if (++c.taken >= c.replies) emit(commands.shift()!);
    }
  };
  return {
    push(frame, type) {
      if (type === 'request') {
        const command = commandOf(frame);
        const subscribes = command !== null && SUBSCRIBE_COMMANDS.has(command);
        if (subscribes) subscribed = true;
        commands.push({ req: frame, command, replies: subscribes ? Math.max(1, frame.values.length - 1) : 1, resp: null, taken: 0 });
      } else replies.push(frame);
      match();
    },
    end() {
      for (const c of commands.splice(0)) emit(c);
      for (const r of replies.splice(0)) if (!isPubSubMessage(r, subscribed)) errorCount++;
    },
    get errorCount() {
      return errorCount;
    },
  };
}

/** Batch form of createRedisStitcher. */
export function stitch(requests: readonly RedisFrame[], responses: readonly RedisFrame[]): RecordsWithErrorCount<RedisRecord> {
  const { records, errorCount } = stitchAll(createRedisStitcher, requests, responses);
  return { records: records as RedisRecord[], errorCount };
}
