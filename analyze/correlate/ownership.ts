import { ColumnBatch } from '../engine/columns.js';
import type { ColumnChunk } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { noneOf, oneOf } from '../engine/sqlLists.js';
import { messagingProtocols } from '../protocols/registry.js';

/** Confidence of an owner when the thread had one inbound request open (vPath's and DeepFlow's case). */
export const THREAD_CONFIDENCE = 0.9;
/** The call was made by a green thread that had just resumed from its own earlier call (same thread, in order). */
export const RESUME_CONFIDENCE = 0.85;
/** The call was the first of a green thread started for a delivered RPC or woken by its reply, in arrival order. */
export const FIFO_CONFIDENCE = 0.7;
/** The capture named the green thread (capture schema v2: greenlet id at every syscall). */
export const GREENLET_CONFIDENCE = 0.97;
/** The green thread sent the reply to an RPC call whose `_msg_id` names it: it was handling that call. */
export const REPLY_CONFIDENCE = 0.98;

const CANDIDATE_SCHEMA = [
  ['parent', 'VARCHAR'],
  ['child', 'VARCHAR'],
  ['evidence', 'VARCHAR'],
  ['confidence', 'DOUBLE'],
] as const;

const DEBUG_PID = process.env.NITRACE_DEBUG_SWEEP ? Number(process.env.NITRACE_DEBUG_SWEEP) : null;

/** Calls a green thread keeps before its owner is settled (bounds memory on long-lived background green threads). */
const MAX_PENDING_CHILDREN = 10_000;
/**
 * How long a caller waits for a reply the capture cannot name, as a multiple of the longest wait of a call whose
 * reply it could name (the `_msg_id` of both seen). A cast whose head the snaplen cut looks like a call (no
 * `_msg_id` visible either way), so its caller would wait forever for a reply that never comes, and a later reply
 * would wake it instead of the call it answers. On the shipped schema-1 compute sample the longest named wait is
 * 0.22 s and the longest RPC call of its ground truth 0.88 s (select_destinations), while nova-conductor's casts of
 * build_and_run_instance kept 14 such callers waiting per run (woken 5-14 s later, and, in a generated capture of
 * runs back to back, by the next run's replies 55-100 s later).
 */
const UNPAIRED_WAIT_FACTOR = 10;
/**
 * How long a context made runnable (a delivered request, a caller woken by its reply) waits for the hub's turn at
 * most, without socket I/O in between. eventlet runs every runnable green thread before it polls again, so one
 * that made no socket call by then finished in memory (a cast handled in memory, a caller done after its last
 * reply). On the shipped schema-1 compute sample a woken nova-compute caller made its next call 3-30 ms after its
 * reply. Edge F1 of that sample by this bound: 50 ms 94.51, 250 ms 94.55, 1 s 94.33 (= no bound); on the generated
 * 1 M set (bench/analyze) 250 ms took the edges that join two replicas from 103 to 0 (periodic tasks' calls had
 * taken a cast handler or a terminate of the previous run, 8-131 s old).
 */
const READY_TURN_NS = 250_000_000n;
/** oslo.messaging's default rpc_response_timeout: a call without any reply fails after it (the bound when no reply is named). */
const RPC_TIMEOUT_NS = 60_000_000_000;

/**
 * What happens on a thread, in order, as far as ownership needs it (see correlateOwnership):
 * - `call`: a span that needs an owner starts (an outbound request, an RPC call or cast, a reply or notification);
 * - `resume`: the response to an earlier call of this thread arrived in full;
 * - `serve` / `served`: an inbound request was read / answered;
 * - `deliver`: a message was delivered to this process (an RPC request to handle, or a reply someone waits for);
 * - `spawn`: a green thread was created (capture schema v2).
 */
type OpKind = 'resume' | 'serve' | 'deliver' | 'spawn' | 'call' | 'served';
/**
 * Each op's rank among ops at the same time (the ORDER BY's `prio`), which names it too: the stream hands the sweep
 * this number instead of the op's name (a string read per row).
 */
const OP_BY_PRIO: readonly (OpKind | undefined)[] = ['resume', 'serve', 'deliver', 'spawn', undefined, 'call', 'served'];

/**
 * A span id as the sweep keys it: the 16 lower-case hex digits of a span id (spans_raw.ts, messageSpans.ts) as
 * their 64-bit number, any other id (test fixtures) as it is. The stream hands the sweep the row's own span as that
 * number (a string over 12 bytes costs a native call and a UTF-8 decode per row in the reader: 2.3 s of the sweep
 * callback's 5.9 s on the 1 M bench set, session 8's profile); the public id is written back only for the links it
 * emits (spanName). No join: the ids the engine stores and joins stay the text ones.
 */
type SpanKey = string | bigint;
const HEX_ID = /^[0-9a-f]{16}$/;
const spanKey = (id: string): SpanKey => (HEX_ID.test(id) ? BigInt(`0x${id}`) : id);
const spanName = (k: SpanKey): string => (typeof k === 'bigint' ? k.toString(16).padStart(16, '0') : k);

/** How a context came to own the call it makes: evidence names and confidences. */
type How = 'thread' | 'resume' | 'fifo' | 'greenlet' | 'reply';
const EVIDENCE: Record<How, [string, number]> = {
  thread: ['thread', THREAD_CONFIDENCE],
  resume: ['green:resume', RESUME_CONFIDENCE],
  fifo: ['green:fifo', FIFO_CONFIDENCE],
  greenlet: ['green:greenlet', GREENLET_CONFIDENCE],
  reply: ['green:reply', REPLY_CONFIDENCE],
};

/** A green thread (or, in a thread-per-request server, the OS thread's current request) as the sweep tracks it. */
interface Ctx {
  /** The inbound span it works for, as far as known (null: background work such as polling or periodic tasks). */
  owner: SpanKey | null;
  /** Waiting for a response or reply: it cannot be the one making the next call. */
  blocked: boolean;
  /** How it got to run its latest call. */
  how: How;
  /** Calls made under a guessed (FIFO) owner, emitted when the owner is settled by a reply or the context ends. */
  pending: { span: SpanKey; how: How; single: boolean }[] | null;
  /** An RPC this context handles (counted among the thread's open inbound requests until it replies). */
  rpc: boolean;
  /** Its request was answered (HTTP response sent, RPC reply published): a late response cannot make it run again. */
  done: boolean;
  /** Capture schema v2: the greenlet it runs on, once the capture named one (null: none seen yet). */
  gid: bigint | null;
  /** When a delivery made it runnable (spawned for a request or woken by a reply): it runs at the hub's next turn. */
  readyAt: bigint;
}

interface ThreadState {
  running: Ctx | null;
  /** Contexts made runnable by a delivery (spawned) or a reply (woken), in order. */
  ready: Ctx[];
  /** Inbound HTTP spans being served on this thread -> their context. */
  served: Map<SpanKey, Ctx>;
  /** Calls waiting for their response -> the context that made them. */
  callCtx: Map<SpanKey, Ctx>;
  /** RPC calls waiting for their reply -> the context that made them; and those whose reply cannot be named (since when). */
  waiting: Map<SpanKey, Ctx>;
  unpairedWaiting: { ctx: Ctx; since: bigint }[];
  /** Inbound requests open on the thread. */
  open: number;
  lastOp: OpKind | null;
  /** Capture schema v2: contexts by greenlet id, and deliveries each poller greenlet read but did not spawn for yet. */
  byGid: Map<bigint, Ctx>;
  /**
   * Capture schema v2: the request a greenlet answered last (HTTP response sent, RPC reply published): its later
   * calls (session cleanup) are still that request's, as a thread keeps its last request.
   */
  answeredBy: Map<bigint, Ctx>;
  deliveriesBy: Map<bigint, Ctx[]>;
}

/** Whether anything can still make `ctx` run again (a response, a reply, its greenlet). */
function reachable(t: ThreadState, ctx: Ctx): boolean {
  if (t.ready.includes(ctx) || t.unpairedWaiting.some((w) => w.ctx === ctx)) return true;
  for (const m of [t.byGid, t.served, t.callCtx, t.waiting] as Map<unknown, Ctx>[]) for (const c of m.values()) if (c === ctx) return true;
  return false;
}

function newThread(): ThreadState {
  return {
    running: null, ready: [], served: new Map(), callCtx: new Map(), waiting: new Map(), unpairedWaiting: [], open: 0,
    lastOp: null, byGid: new Map(), answeredBy: new Map(), deliveriesBy: new Map(),
  };
}

/**
 * Ownership by sweep (`thread` and `green:*` evidence): every thread's calls, responses, inbound requests and
 * deliveries in time order, replayed through a model of how a thread runs work, in one pass (O(n) after the
 * engine's sort; per-thread state bounded by the work in flight).
 *
 * A thread-per-request server runs one request at a time (`thread`). An eventlet process runs many requests as green
 * threads on one OS thread, and a green thread runs until it blocks: on a socket it sent a request on (it resumes
 * when that response arrives), on an RPC reply (after the reply is delivered), or when it is done. So, without any
 * green-thread id (capture schema v1):
 * - a call made right after a response arrived belongs to the green thread that made the earlier call (`green:resume`);
 * - a call made when no green thread runs belongs to one made runnable since the last socket event: started for a
 *   delivered RPC request or woken by a delivered reply, the latest first (`green:fifo`; the latest, because earlier
 *   ones are often handled without socket I/O: on the shipped compute sample F1 82.7 taking the latest, 75.8 the
 *   earliest). One still waiting at the next socket event did no socket I/O and is dropped;
 * - a green thread that sends the reply of an RPC call whose `_msg_id` names it was handling that call: its calls
 *   are re-owned accordingly (`green:reply`).
 * With capture schema v2 every syscall names its greenlet, and `green_spawn` names the greenlet that created it: a
 * poller that read deliveries spawns their handlers in order (`green:greenlet`).
 */
export async function correlateOwnership(engine: Engine): Promise<void> {
  const d = engine.dialect;
  // RPC calls, replies and deliveries are the messaging protocols' spans (protocols/registry.ts); all others are calls.
  const rpc = (column: string): string => oneOf(d, column, messagingProtocols);
  const notRpc = (column: string): string => noneOf(d, column, messagingProtocols);
  // Which client span a delivered reply answers, and which server span a published reply answers (_msg_id).
  await engine.exec(
    d.createTableAs(
      'reply_waits',
      `SELECT r.span_id AS reply, c.span_id AS call, r.tid <> c.tid AS other_thread FROM spans_raw c JOIN amqp_msgs cm ON cm.msg_idx = c.msg_idx
       JOIN amqp_msgs rm ON rm.msg_id = cm.msg_id AND rm.node = cm.node AND rm.pid = cm.pid AND rm.oslo_kind = 'reply' AND rm.dir = 'recv'
       JOIN spans_raw r ON r.msg_idx = rm.msg_idx AND r.kind = 'consumer'
       WHERE c.kind = 'client' AND ${rpc('c.protocol')}`,
    ),
  );
  const [named] = await engine.query<{ w: bigint | null }>(`SELECT max(r.raw_start_ns - c.raw_start_ns) AS w
    FROM reply_waits x JOIN spans_raw c ON c.span_id = x.call JOIN spans_raw r ON r.span_id = x.reply`);
  const maxUnpairedWait = named?.w == null ? BigInt(RPC_TIMEOUT_NS) : BigInt(UNPAIRED_WAIT_FACTOR) * BigInt(named.w);
  // Columns: node pid tid gid op t prio span blocks finishes handles unpaired_call is_reply is_rpc parent_gid reply_owner
  const ops = `
    SELECT s.node, s.pid, s.tid, s.gid, 'call' AS op, s.raw_start_ns AS t, 5 AS prio, s.span_id,
           CASE WHEN ${notRpc('s.protocol')} THEN s.raw_resp_start_ns IS NOT NULL
                WHEN s.kind = 'client' THEN coalesce(s.rpc_kind, '') <> 'cast'
                  -- a reply read by another OS thread (oslo's reply listener in a threaded service) never wakes
                  -- this one in the sweep; the thread itself waits, so its next event is still this caller's
                  AND s.span_id NOT IN (SELECT call FROM reply_waits WHERE other_thread)
                ELSE false END AS blocks,
           s.kind = 'producer' AND s.rpc_kind = 'reply' AS finishes, NULL::VARCHAR AS handles,
           ${rpc('s.protocol')} AND s.kind = 'client' AND s.span_id NOT IN (SELECT call FROM reply_waits) AS unpaired_call,
           false AS is_reply, ${rpc('s.protocol')} AS is_rpc, CAST(NULL AS ${d.type('UBIGINT')}) AS parent_gid, rp.parent AS reply_owner
    FROM spans_raw s LEFT JOIN candidates rp ON rp.child = s.span_id AND rp.evidence = 'content:_msg_id'
    WHERE (${notRpc('s.protocol')} OR NOT coalesce(s.broker, false))
      AND (s.kind = 'client' OR (s.kind = 'producer' AND ${rpc('s.protocol')} AND s.msg_idx NOT IN
      (SELECT msg_idx FROM spans_raw WHERE kind = 'client' AND ${rpc('protocol')})))
    UNION ALL
    SELECT node, pid, coalesce(resp_tid, tid), coalesce(resp_gid, gid), 'resume', raw_end_ns, 0, span_id, false, false, NULL, false, false, false, NULL, NULL
    FROM spans_raw WHERE kind = 'client' AND ${notRpc('protocol')} AND raw_resp_start_ns IS NOT NULL
    UNION ALL
    SELECT node, pid, tid, gid, 'serve', raw_start_ns, 1, span_id, false, false, NULL, false, false, false, NULL, NULL
    FROM spans_raw WHERE kind = 'server' AND ${notRpc('protocol')}
    UNION ALL
    SELECT node, pid, coalesce(resp_tid, tid), coalesce(resp_gid, gid), 'served', raw_end_ns, 6, span_id, false, false, NULL, false, false, false, NULL, NULL
    FROM spans_raw WHERE kind = 'server' AND ${notRpc('protocol')}
    UNION ALL
    SELECT c.node, c.pid, c.tid, c.gid, 'deliver', c.raw_start_ns, 2, w.call, false, false, s.span_id, false, c.rpc_kind = 'reply', false, NULL, NULL
    FROM spans_raw c LEFT JOIN spans_raw s ON s.msg_idx = c.msg_idx AND s.kind = 'server'
    LEFT JOIN reply_waits w ON w.reply = c.span_id
    WHERE c.kind = 'consumer' AND ${rpc('c.protocol')} AND NOT c.broker
    UNION ALL
    SELECT node, pid, tid, gid, 'spawn', ts_ns, 3, NULL, false, false, NULL, false, false, false, parent_gid, NULL
    FROM events WHERE event = 'green_spawn' AND gid IS NOT NULL`;

  const out = new ColumnBatch(CANDIDATE_SCHEMA);
  /** Calls of named green threads that no request owns (background work): later steps must not guess an owner. */
  const unowned: SpanKey[] = [];
  const [parentCol, childCol, evidenceCol, confidenceCol] = out.columns as { push(v: unknown): void }[];
  const emit = (owner: SpanKey, span: SpanKey, how: How, single: boolean): void => {
    const [evidence, confidence] = single && how !== 'greenlet' && how !== 'reply' ? EVIDENCE.thread : EVIDENCE[how];
    parentCol!.push(spanName(owner));
    childCol!.push(spanName(span));
    evidenceCol!.push(evidence);
    confidenceCol!.push(confidence);
  };
  /** Settles a context's owner (a reply named it, or it ended) and emits the calls it held back. */
  const settle = (ctx: Ctx, owner: SpanKey | null, how: How | null): void => {
    if (owner !== null && owner !== ctx.owner) ctx.owner = owner;
    for (const c of ctx.pending ?? []) if (ctx.owner !== null) emit(ctx.owner, c.span, how ?? c.how, c.single);
    ctx.pending = null;
  };
  const attribute = (ctx: Ctx, span: SpanKey, how: How, t: ThreadState): void => {
    const single = t.open === 1;
    if (ctx.pending !== null && ctx.pending.length < MAX_PENDING_CHILDREN) ctx.pending.push({ span, how, single });
    else if (ctx.owner !== null) emit(ctx.owner, span, how, single);
  };

  // The sweep tells threads apart by (node, pid, tid): the node as its rank among the nodes (a number per row instead
  // of the name, a string read per row). The sort reads the same numbers: every key a fixed-size integer, and the
  // rows carry no node name or hex span id. The order is the same (ranks follow the names; 16 lower-case hex digits
  // sort as their numbers do; other ids by their text).
  const nodeNames = (await engine.query<{ node: string }>(
    // UNION ALL + DISTINCT, not a bare UNION: ClickHouse wants UNION's mode spelled out, DuckDB's default is DISTINCT.
    `SELECT DISTINCT node FROM (SELECT DISTINCT node FROM spans_raw WHERE node IS NOT NULL
       UNION ALL SELECT DISTINCT node FROM events WHERE event = 'green_spawn' AND node IS NOT NULL) AS nodes`,
  )).map((r) => r.node).sort();
  const nodeNo = nodeNames.length === 0 ? 'NULL' : `CASE node ${nodeNames.map((n, i) => `WHEN ${d.string(n)} THEN ${i}`).join(' ')} END`;
  let threadNode: number | null = -1;
  let threadPid: number | null = -1;
  let threadTid: number | null = -1;
  let t = newThread();
  const endThread = (): void => {
    for (const ctx of [...t.byGid.values(), ...t.ready, ...t.served.values(), ...t.callCtx.values(), ...t.waiting.values(), ...t.unpairedWaiting.map((w) => w.ctx)]) settle(ctx, null, null);
    if (t.running) settle(t.running, null, null);
  };
  await engine.stream(
    `SELECT ${nodeNo} AS node_no, pid, tid, gid, prio,
            ${d.hexId64('span_id')} AS span_no,
            CASE WHEN ${d.hexId64('span_id')} IS NULL THEN span_id END AS span_text, blocks, finishes, handles, unpaired_call, is_reply, is_rpc, parent_gid, reply_owner, t
     FROM (${ops}) WHERE t IS NOT NULL ORDER BY node_no, pid, tid, t, prio, span_no, span_text`,
    async (chunk: ColumnChunk) => {
      const rows = chunk.rowCount;
      for (let i = 0; i < rows; i++) {
        const node = chunk.number(0, i);
        const pid = chunk.number(1, i);
        const tid = chunk.number(2, i);
        if (node !== threadNode || pid !== threadPid || tid !== threadTid) {
          endThread();
          threadNode = node;
          threadPid = pid;
          threadTid = tid;
          t = newThread();
        }
        step(t, chunk, i);
        if (DEBUG_PID !== null && pid === DEBUG_PID) {
          process.stderr.write(`sweep ${chunk.bigint(15, i)} ${OP_BY_PRIO[chunk.number(4, i)!]} ${spanName(chunk.bigint(5, i) ?? chunk.string(6, i) ?? '')} running=${t.running?.owner == null ? '-' : spanName(t.running.owner)} ready=${t.ready.length} open=${t.open}\n`);
        }
        if (out.rows >= 50_000) {
          await engine.append('candidates', out);
          out.clear();
        }
      }
    },
  );
  endThread();
  await engine.append('candidates', out);
  const batch = new ColumnBatch([['span_id', 'VARCHAR']] as const);
  for (const span of unowned) (batch.columns[0] as { push(v: unknown): void }).push(spanName(span));
  await engine.append('green_unowned', batch);

  /** Makes `ctx` the running context; the one it replaces, if nothing can resume it any more, is settled. */
  function run(t: ThreadState, ctx: Ctx | null): void {
    const prev = t.running;
    t.running = ctx;
    if (prev && prev !== ctx && !prev.blocked && prev.pending !== null && !reachable(t, prev)) settle(prev, null, null);
  }

  /**
   * Contexts made runnable longer than READY_TURN_NS ago ran at the hub's turn back then and did no socket I/O (a
   * cast handled in memory, a caller that finished after its last reply): the thread idled since, so a call now is
   * another green thread's (a periodic task's), not theirs. They are dropped as at a socket event.
   */
  function dropStale(t: ThreadState, now: bigint): void {
    while (t.ready.length > 0 && now - t.ready[0]!.readyAt > READY_TURN_NS) {
      const ctx = t.ready.shift()!;
      if (ctx.rpc) t.open--;
      settle(ctx, null, null);
    }
  }

  function step(t: ThreadState, chunk: ColumnChunk, i: number): void {
    const gid = chunk.bigint(3, i);
    const op = OP_BY_PRIO[chunk.number(4, i)!]!;
    const span: SpanKey = chunk.bigint(5, i) ?? chunk.string(6, i) ?? '';
    const now = chunk.bigint(15, i)!;
    // Runnable green threads run at the hub's next turn: one still waiting at a later socket event did no socket I/O
    // at all (handled in memory, e.g. a fanout cast) and is dropped. Deliveries read in one burst are one socket
    // event. (Measured on the shipped compute sample, schema v1: F1 82.7 with this rule, 78.0 keeping them.)
    if ((op === 'resume' || op === 'serve' || op === 'deliver') && !(op === 'deliver' && t.lastOp === 'deliver')) {
      for (const ctx of t.ready) {
        if (ctx.rpc) t.open--;
        settle(ctx, null, null);
      }
      t.ready = [];
    }
    t.lastOp = op;
    switch (op) {
      case 'serve': {
        const ctx: Ctx = { owner: span, blocked: false, how: gid === null ? 'thread' : 'greenlet', pending: null, rpc: false, done: false, gid, readyAt: 0n };
        t.served.set(span, ctx);
        t.open++;
        run(t, ctx);
        if (gid !== null) {
          t.byGid.set(gid, ctx);
          t.answeredBy.delete(gid);
        }
        return;
      }
      case 'served': {
        const ctx = t.served.get(span);
        if (ctx) {
          t.open--;
          ctx.done = true;
          t.served.delete(span);
          // It keeps the thread until another request or response comes: work after the response (session
          // cleanup, a ROLLBACK) is still that request's (vPath's rule).
          if (gid !== null && t.byGid.get(gid) === ctx) {
            t.byGid.delete(gid);
            t.answeredBy.set(gid, ctx);
          }
        }
        return;
      }
      case 'spawn': {
        // A greenlet created by a poller that read RPC requests handles the oldest one it has not spawned for yet.
        const parent = chunk.bigint(13, i);
        const old = gid === null ? undefined : t.byGid.get(gid);
        if (old) settle(old, null, null); // the address of a dead greenlet, reused
        if (gid !== null) t.answeredBy.delete(gid);
        const queue = parent === null ? undefined : t.deliveriesBy.get(parent);
        const delivery = queue?.shift();
        if (gid === null) return;
        if (delivery) {
          delivery.how = 'greenlet';
          delivery.gid = gid;
          t.ready = t.ready.filter((c) => c !== delivery);
          t.byGid.set(gid, delivery);
          return;
        }
        // A green thread spawned by one working for a request works for that request too (nova's utils.spawn
        // hands its request context to the new green thread); one spawned by background work is background work.
        const spawner = parent === null ? undefined : t.byGid.get(parent);
        if (spawner && spawner.owner !== null && !spawner.done) {
          t.byGid.set(gid, { owner: spawner.owner, blocked: false, how: 'greenlet', pending: null, rpc: false, done: false, gid, readyAt: 0n });
        } else t.byGid.delete(gid);
        return;
      }
      case 'deliver': {
        // The poller read it; what it starts or wakes runs later. `handles`: the RPC server span of a delivered
        // request; `span`: the call a delivered reply answers, when the ids name it.
        const handlesId = chunk.string(9, i);
        const handles = handlesId === null ? null : spanKey(handlesId);
        const waiter = span === '' ? undefined : t.waiting.get(span);
        if (handles !== null) {
          const ctx: Ctx = { owner: handles, blocked: false, how: 'fifo', pending: [], rpc: true, done: false, gid: null, readyAt: now };
          t.open++;
          t.ready.push(ctx);
          if (gid !== null) {
            const q = t.deliveriesBy.get(gid) ?? [];
            q.push(ctx);
            t.deliveriesBy.set(gid, q);
          }
        } else if (waiter) {
          t.waiting.delete(span);
          waiter.blocked = false;
          waiter.readyAt = now;
          t.ready.push(waiter);
        } else if (chunk.boolean(11, i) && t.unpairedWaiting.length > 0) {
          // A reply whose call the capture cannot name wakes the longest waiting caller, among those that waited no
          // longer than any named call took (times UNPAIRED_WAIT_FACTOR): older ones made casts that looked like calls.
          while (t.unpairedWaiting.length > 0 && now - t.unpairedWaiting[0]!.since > maxUnpairedWait) {
            const { ctx } = t.unpairedWaiting.shift()!;
            if (!reachable(t, ctx)) settle(ctx, null, null);
          }
          const w = t.unpairedWaiting.shift();
          if (w) {
            w.ctx.blocked = false;
            w.ctx.readyAt = now;
            t.ready.push(w.ctx);
          }
        }
        run(t, null);
        return;
      }
      case 'resume': {
        const ctx = t.callCtx.get(span);
        if (ctx && ctx.done) {
          t.callCtx.delete(span);
          if (ctx.how === 'thread') run(t, ctx); // its own cleanup call answered: still its thread
        } else if (ctx) {
          t.callCtx.delete(span);
          ctx.blocked = false;
          if (ctx.how !== 'thread' && ctx.how !== 'greenlet') ctx.how = 'resume';
          run(t, ctx);
        }
        return;
      }
      case 'call': {
        dropStale(t, now);
        let ctx: Ctx | null;
        if (gid !== null && t.byGid.has(gid)) ctx = t.byGid.get(gid)!;
        else if (gid !== null && t.answeredBy.has(gid)) ctx = t.answeredBy.get(gid)!;
        else if (gid !== null) {
          // The capture names the green thread and no request owns it. It may continue a context whose green thread
          // the capture had not named yet (a uWSGI thread's request read before its first greenlet switch was seen);
          // otherwise it is background work (a periodic task, a poller, a green thread spawned by one, or one alive
          // before the capture began): another green thread's context is not its own (nova-compute's periodic-task
          // green thread made 138 calls of the compute-large run under a delete that happened to run when it
          // first showed up).
          ctx = t.running && !t.running.blocked && t.running.gid === null ? t.running : null;
          if (!ctx) {
            let i = t.ready.length - 1;
            while (i >= 0 && t.ready[i]!.gid !== null) i--;
            ctx = i < 0 ? null : t.ready.splice(i, 1)[0]!;
            if (ctx) ctx.how = 'fifo';
          }
          if (!ctx) {
            unowned.push(span);
            return;
          }
          ctx.gid = gid;
          t.byGid.set(gid, ctx);
        } else {
          ctx = t.running;
          if (!ctx || ctx.blocked) {
            ctx = t.ready.pop() ?? null;
            if (ctx) ctx.how = 'fifo';
          }
        }
        run(t, ctx);
        if (!ctx) return;
        attribute(ctx, span, ctx.how, t);
        if (chunk.boolean(7, i)) {
          ctx.blocked = true;
          // A call's response resumes it (`resume`); an RPC call's reply wakes it (`deliver`).
          if (chunk.boolean(12, i)) {
            if (chunk.boolean(10, i)) t.unpairedWaiting.push({ ctx, since: chunk.bigint(15, i)! });
            else t.waiting.set(span, ctx);
          } else t.callCtx.set(span, ctx);
          run(t, null);
        }
        if (chunk.boolean(8, i)) {
          // The reply of an RPC: it was handling the call the reply's _msg_id names (if captured); that RPC is done.
          const namedId = chunk.string(14, i);
          const named = namedId === null ? null : spanKey(namedId);
          // Only a named greenlet's calls are re-owned by it: an inferred one may be the wrong green thread.
          settle(ctx, ctx.how === 'greenlet' ? named : null, ctx.how === 'greenlet' && named !== null && named !== ctx.owner ? 'reply' : null);
          if (ctx.rpc) {
            t.open--;
            ctx.rpc = false;
            ctx.done = true;
          }
          if (gid !== null && t.byGid.get(gid) === ctx) {
            t.byGid.delete(gid);
            t.answeredBy.set(gid, ctx);
          }
          run(t, null);
        }
        return;
      }
    }
  }
}
