/**
 * Pairs Redis commands with replies. Redis answers the commands of one connection in order, pipelined or not
 * (https://redis.io/docs/latest/develop/use/pipelining/), so pairing is first-in first-out; pub/sub messages are
 * pushed without a command and are skipped.
 */
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
 * Pairs the requests and responses of one connection (each in stream order). A response that ends before its
 * request starts, and responses left over after every request, are counted as errors; requests left without a
 * response (capture ended) are returned with `resp: null`.
 */
export function stitch(requests: readonly RedisFrame[], responses: readonly RedisFrame[]): RecordsWithErrorCount<RedisRecord> {
  const records: RedisRecord[] = [];
  let errorCount = 0;
  let next = 0;
  let subscribed = false;
  for (const req of requests) {
    const command = commandOf(req);
    if (command !== null && SUBSCRIBE_COMMANDS.has(command)) subscribed = true;
    const replies = command !== null && SUBSCRIBE_COMMANDS.has(command) ? Math.max(1, req.values.length - 1) : 1;
    let resp: RedisFrame | null = null;
    let taken = 0;
    while (next < responses.length && taken < replies) {
      const candidate = responses[next]!;
      if (isPubSubMessage(candidate, subscribed)) {
        next++;
        continue;
      }
      if (candidate.tsEndNs < req.tsStartNs) {
        errorCount++; // a reply older than the command: its command was not captured
        next++;
        continue;
      }
      resp ??= candidate;
      taken++;
      next++;
    }
    records.push({
      protocol: 'redis',
      method: command,
      path: firstKeyOf(req),
      status: resp === null ? null : isError(resp) ? 'error' : 'ok',
      req,
      resp,
      ids: {},
    });
  }
  for (; next < responses.length; next++) if (!isPubSubMessage(responses[next]!, subscribed)) errorCount++;
  return { records, errorCount };
}
