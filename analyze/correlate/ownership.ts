import { ColumnBatch } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';

/** Confidence of an owner when the thread had one inbound request open (vPath's and DeepFlow's case). */
export const THREAD_CONFIDENCE = 0.9;
/** The call was made by a green thread that had just resumed from its own earlier call (same thread, in order). */
export const RESUME_CONFIDENCE = 0.85;
/** The call was the first of a green thread started for a delivered RPC or woken by its reply, in arrival order. */
export const FIFO_CONFIDENCE = 0.7;
/** The capture named the green thread (capture schema v2: greenlet id at every syscall). */
export const GREENLET_CONFIDENCE = 0.97;

const CANDIDATE_SCHEMA = [
  ['parent', 'VARCHAR'],
  ['child', 'VARCHAR'],
  ['evidence', 'VARCHAR'],
  ['confidence', 'DOUBLE'],
] as const;

/**
 * What happens on a thread, in order, as far as ownership needs it. `call`: a span that needs an owner starts
 * (an outbound request, an RPC call or cast, a reply or notification published); `resume`: the response to an
 * earlier call of this thread arrived in full; `serve`/`served`: an inbound request was read / answered;
 * `deliver`: a message was delivered to this process (an RPC request to handle, or a reply someone waits for).
 */
type OpKind = 'resume' | 'serve' | 'deliver' | 'call' | 'served';

/** A green thread (or, where there are none, the OS thread itself) as the sweep tracks it. */
interface Ctx {
  /** The inbound span it works for (null: background work such as periodic tasks or message polling). */
  owner: string | null;
  /** Waiting for a response or reply: it cannot be the one making the next call. */
  blocked: boolean;
  /** How it got to run the next call: resumed after its own call, or started for a delivery / woken by a reply. */
  how: 'thread' | 'resume' | 'fifo' | 'greenlet';
}

/**
 * Ownership by sweep (the `thread` and `green:*` evidence): every thread's calls, responses, inbound requests and
 * deliveries in time order, replayed through a model of how a thread runs work. A thread-per-request server runs one
 * request at a time; an eventlet process runs many requests as green threads on one OS thread, and a green thread
 * runs until it blocks: on a socket it sent a request on (it resumes when that response arrives), on an RPC reply
 * (it resumes after the reply is delivered), or when it is done. So, without any green-thread id:
 * - a call made right after a response arrived belongs to the green thread that made the earlier call (`green:resume`);
 * - a call made when no green thread is running belongs to the next one made runnable: started for a delivered RPC
 *   request or woken by a delivered reply, in the order of the deliveries (`green:fifo`);
 * - where the thread had one inbound request open, it is plain `thread` evidence.
 * With capture schema v2 the greenlet id at each syscall names the green thread (`green:greenlet`). One pass, O(n)
 * after the engine's sort, with per-thread state bounded by the work in flight.
 */
export async function correlateOwnership(engine: Engine): Promise<void> {
  const d = engine.dialect;
  // Which client span a delivered reply answers (its _msg_id pairing, when captured).
  await engine.exec(
    d.createTableAs(
      'reply_waits',
      `SELECT r.span_id AS reply, c.span_id AS call FROM spans_raw c JOIN amqp_msgs cm ON cm.msg_idx = c.msg_idx
       JOIN amqp_msgs rm ON rm.msg_id = cm.msg_id AND rm.node = cm.node AND rm.pid = cm.pid AND rm.oslo_kind = 'reply' AND rm.dir = 'recv'
       JOIN spans_raw r ON r.msg_idx = rm.msg_idx AND r.kind = 'consumer'
       WHERE c.kind = 'client' AND c.protocol = 'amqp'`,
    ),
  );
  const app = `(protocol <> 'amqp' OR NOT coalesce(broker, false))`;
  // op, time, priority at equal times (what makes a thread run first), span, the span's own extra
  const ops = `
    SELECT node, pid, tid, gid, 'call' AS op, raw_start_ns AS t, 3 AS prio, span_id,
           CASE WHEN protocol <> 'amqp' THEN raw_resp_start_ns IS NOT NULL
                WHEN kind = 'client' THEN coalesce(rpc_kind, '') <> 'cast' ELSE false END AS blocks,
           kind = 'producer' AND rpc_kind = 'reply' AS finishes, NULL::VARCHAR AS handles,
           protocol = 'amqp' AND span_id NOT IN (SELECT call FROM reply_waits) AS unpaired_call, false AS is_reply,
           protocol = 'amqp' AS is_rpc
    FROM spans_raw WHERE ${app} AND (kind = 'client' OR (kind = 'producer' AND protocol = 'amqp' AND msg_idx NOT IN
      (SELECT msg_idx FROM spans_raw WHERE kind = 'client' AND protocol = 'amqp')))
    UNION ALL
    SELECT node, pid, coalesce(resp_tid, tid), coalesce(resp_gid, gid), 'resume', raw_end_ns, 0, span_id, false, false, NULL, false, false, false
    FROM spans_raw WHERE kind = 'client' AND protocol <> 'amqp' AND raw_resp_start_ns IS NOT NULL
    UNION ALL
    SELECT node, pid, tid, gid, 'serve', raw_start_ns, 1, span_id, false, false, NULL, false, false, false
    FROM spans_raw WHERE kind = 'server' AND protocol <> 'amqp'
    UNION ALL
    SELECT node, pid, coalesce(resp_tid, tid), coalesce(resp_gid, gid), 'served', raw_end_ns, 4, span_id, false, false, NULL, false, false, false
    FROM spans_raw WHERE kind = 'server' AND protocol <> 'amqp'
    UNION ALL
    SELECT c.node, c.pid, c.tid, c.gid, 'deliver', c.raw_start_ns, 2, w.call, false, false, s.span_id, false, c.rpc_kind = 'reply', false
    FROM spans_raw c LEFT JOIN spans_raw s ON s.msg_idx = c.msg_idx AND s.kind = 'server'
    LEFT JOIN reply_waits w ON w.reply = c.span_id
    WHERE c.kind = 'consumer' AND c.protocol = 'amqp' AND NOT c.broker`;
  const out = new ColumnBatch(CANDIDATE_SCHEMA);
  const [parent, child, evidence, confidence] = out.columns as { push(v: unknown): void }[];
  const link = (owner: string, span: string, how: Ctx['how'], threadOpen: number): void => {
    const single = how !== 'greenlet' && threadOpen === 1;
    parent!.push(owner);
    child!.push(span);
    evidence!.push(single ? 'thread' : how === 'thread' ? 'thread' : `green:${how}`);
    confidence!.push(single || how === 'thread' ? THREAD_CONFIDENCE : how === 'greenlet' ? GREENLET_CONFIDENCE : how === 'resume' ? RESUME_CONFIDENCE : FIFO_CONFIDENCE);
  };

  let threadKey = '';
  let t = newThread();
  await engine.stream(`SELECT node, pid, tid, gid, op, span_id, blocks, finishes, handles, unpaired_call, is_reply, is_rpc FROM (${ops}) WHERE t IS NOT NULL
    ORDER BY node, pid, tid, t, prio, span_id`, async (chunk) => {
    for (let i = 0; i < chunk.rowCount; i++) {
      const key = `${chunk.string(0, i)}/${chunk.number(1, i)}/${chunk.number(2, i)}`;
      if (key !== threadKey) {
        threadKey = key;
        t = newThread();
      }
      const op = chunk.string(4, i) as OpKind;
      const span = chunk.string(5, i) ?? '';
      // Green threads made runnable (spawned for a delivery, woken by a reply) run at the hub's next turn, before it
      // polls sockets again: one still waiting when the next socket event is handled did no socket I/O at all
      // (handled in memory, e.g. a fanout cast), so it is dropped rather than given someone else's calls. Deliveries
      // read in one burst are one socket event.
      if ((op === 'resume' || op === 'serve' || op === 'deliver') && !(op === 'deliver' && t.lastOp === 'deliver')) expireReady(t);
      t.lastOp = op;
      switch (op) {
        case 'serve': {
          const ctx: Ctx = { owner: span, blocked: false, how: 'thread' };
          t.ctxOf.set(span, ctx);
          t.open++;
          t.running = ctx;
          break;
        }
        case 'served': {
          const ctx = t.ctxOf.get(span);
          if (ctx) {
            t.open--;
            t.ctxOf.delete(span);
            if (t.running === ctx) t.running = null;
          }
          break;
        }
        case 'deliver': {
          // The poller read it; what it starts or wakes runs later, in delivery order. `span` is the call a reply
          // answers when the ids name it; `handles` the RPC server span of a delivered request.
          const handles = chunk.string(8, i);
          const waiter = chunk.string(5, i) === null ? undefined : t.waiting.get(chunk.string(5, i)!);
          if (handles !== null) {
            const ctx: Ctx = { owner: handles, blocked: false, how: 'fifo' };
            t.rpcOpen.add(ctx);
            t.open++;
            t.ready.push(ctx);
          } else if (waiter) {
            t.waiting.delete(chunk.string(5, i)!);
            waiter.blocked = false;
            t.ready.push(waiter);
          } else if (chunk.boolean(10, i) && t.unpairedWaiting.length > 0) {
            // A reply whose call the capture could not name: wake the longest waiting caller.
            const ctx = t.unpairedWaiting.shift()!;
            ctx.blocked = false;
            t.ready.push(ctx);
          }
          t.running = null;
          break;
        }
        case 'resume': {
          const ctx = t.callCtx.get(span);
          if (ctx) {
            t.callCtx.delete(span);
            ctx.blocked = false;
            ctx.how = ctx.how === 'thread' ? 'thread' : 'resume';
            t.running = ctx;
          }
          break;
        }
        case 'call': {
          let ctx = t.running;
          if (!ctx || ctx.blocked) {
            ctx = t.ready.shift() ?? null;
            if (ctx) ctx.how = 'fifo';
            t.running = ctx;
          }
          if (!ctx) break;
          if (ctx.owner !== null) link(ctx.owner, span, ctx.how, t.open);
          if (chunk.boolean(6, i)) {
            ctx.blocked = true;
            // A call's response resumes it (`resume`); an RPC call's reply wakes it (`deliver`).
            if (chunk.boolean(11, i)) {
              if (chunk.boolean(9, i)) t.unpairedWaiting.push(ctx);
              else t.waiting.set(span, ctx);
            } else t.callCtx.set(span, ctx);
            t.running = null;
          }
          if (chunk.boolean(7, i)) {
            // A reply sent: that RPC is handled.
            if (t.rpcOpen.delete(ctx)) t.open--;
            t.running = null;
          }
          break;
        }
      }
      if (out.rows >= 50_000) {
        await engine.append('candidates', out);
        out.clear();
      }
    }
  });
  await engine.append('candidates', out);
}

interface ThreadState {
  running: Ctx | null;
  ready: Ctx[];
  /** Inbound spans being served on this thread (HTTP) -> their context. */
  ctxOf: Map<string, Ctx>;
  /** Calls waiting for their response -> the context that made them. */
  callCtx: Map<string, Ctx>;
  /** RPC calls waiting for their reply -> the context that made them. */
  waiting: Map<string, Ctx>;
  unpairedWaiting: Ctx[];
  rpcOpen: Set<Ctx>;
  /** Inbound requests open on the thread. */
  open: number;
  lastOp: OpKind | null;
}

function expireReady(t: ThreadState): void {
  for (const ctx of t.ready) if (t.rpcOpen.delete(ctx)) t.open--;
  t.ready = [];
}

function newThread(): ThreadState {
  return { running: null, ready: [], ctxOf: new Map(), callCtx: new Map(), waiting: new Map(), unpairedWaiting: [], rpcOpen: new Set(), open: 0, lastOp: null };
}
