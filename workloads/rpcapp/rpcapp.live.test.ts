/**
 * Live test of issue 7 (Tests, second bullet): oslo.messaging RPC through a real RabbitMQ, eventlet RPC servers,
 * concurrent callers, captured with `nitrace capture` (greenlet probes on, whole AMQP messages), analysed with
 * `nitrace analyze`, and checked against the ground truth the services wrote themselves (workloads/rpcapp/).
 *
 * Topology (rpcservice.py): driver -(HTTP, 6 connections)-> api (thread per request) -(RPC: call, cast, fanout cast)->
 * worker-a / worker-b (eventlet, competing on topic `worker`, both on its fanout) -(RPC call)-> helper (eventlet);
 * worker and helper handlers call db over HTTP and Redis from their green threads while other handlers run on the
 * same OS thread. Checked on spans.parquet and edges.parquet:
 * - every RPC: caller's client span -> producer -> broker consumer -> broker producer -> consumer -> server span, one
 *   trace; a fanout cast reaches both workers from its one publish;
 * - every call's reply: server span -> reply producer -> broker -> caller's consumer; the client span ends where the
 *   reply arrived, the server span where the reply left;
 * - every HTTP, Redis and nested RPC call a handler made is a child of that handler's RPC server span.
 * Root only (eBPF); needs Debian's rabbitmq-server, python3-oslo.messaging and python3-eventlet
 * (scripts/setup-rabbitmq.sh, run by `make test`). NITRACE_RPCAPP_KEEP=1 keeps the working directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRoot, nitrace, query, startCapture } from '../../testing/liveTestHelpers.js';
import { rabbitmqMissing } from '../../testing/rabbitmqServer.js';
import { rpcAppMissing, startRpcApp, type RpcApp } from './runRpcApp.js';
import {
  endpointSpan,
  readTruth,
  sightIds,
  SPAN_COLUMNS,
  wireSpans,
  type AmqpEvent,
  type IdSighting,
  type Outbound,
  type RpcOp,
  type Span,
  type TruthLine,
} from './rpcTruth.js';

const skip = !isRoot ? 'needs root to load eBPF probes (CI runs as root)' : (rabbitmqMissing() ?? rpcAppMissing() ?? false);
const REQUESTS = 24;

/** What the analysis produced, indexed for the checks. */
interface Analysed {
  spans: Span[];
  byId: Map<string, Span>;
  evidence: Map<string, string>;
  sightings: Map<string, IdSighting[]>;
  pidOfPort: Map<number, number>;
  amqpPort: number;
}

/** One RPC operation as logged: who made it (and in which request), who handled it. */
interface LoggedRpc {
  op: RpcOp;
  callerPid: number;
  /** The caller's span the RPC client span must be a child of (api: its HTTP server span; worker: its RPC server span). */
  callerParent: () => Span | undefined;
  /** The api made it on its request's thread after an RPC call of the same request had returned. */
  afterCall: boolean;
  handlers: { pid: number; line: TruthLine }[];
}

test('oslo.messaging RPC through RabbitMQ with eventlet servers: spans linked, replies paired, green-thread calls owned', { skip, timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-rpcapp-'));
  let app: RpcApp | null = null;
  let capture: Awaited<ReturnType<typeof startCapture>> | null = null;
  let a: Analysed;
  let truth: TruthLine[];
  const pids = new Map<string, number>();
  const phases: string[] = [];
  let t0 = Date.now();
  const phase = (what: string): void => {
    phases.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t0 = Date.now();
  };
  try {
    app = await startRpcApp({ dir: join(dir, 'app'), requests: REQUESTS, concurrency: 6 });
    for (const p of app.processes) pids.set(p.name, p.pid);
    phase('broker + services started');
    await sleep(1200); // the capture attaches greenlet probes to processes at least 1 s old
    const cap = join(dir, 'cap');
    capture = await startCapture(['--out', cap, ...app.processes.flatMap((p) => ['--pid', String(p.pid)]), '--snaplen-port', `${app.broker.port}=65536`]);
    phase('capture attached');
    await app.connect();
    const driven = await app.drive();
    assert.deepEqual(driven, { requests: REQUESTS, errors: 0 }, 'every driver request answered');
    await waitForHandlers(app.truthFile);
    await sleep(300);
    phase('workload');
    const run = await capture.stop();
    capture = null;
    assert.equal(run.code, 0, run.stderr);
    const manifest = JSON.parse(readFileSync(join(cap, 'manifest.json'), 'utf8')) as { greenlet: { attached: { pids: number[] }[] } | null };
    const greened = new Set(manifest.greenlet?.attached.flatMap((l) => l.pids) ?? []);
    for (const name of ['worker-a', 'worker-b', 'helper']) assert.ok(greened.has(pids.get(name)!), `greenlet probes attached to ${name}`);
    await app.stop();
    app = null;
    phase('capture + app stopped');
    truth = readTruth(join(dir, 'app', 'truth.jsonl'));

    const out = join(dir, 'out');
    const r = await nitrace(['analyze', cap, '--out', out, '-q'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    phase('analyze');
    a = await loadAnalysis(out, cap, pids.get('broker')!, manifestAmqpPort(cap));
  } catch (e) {
    await capture?.stop();
    await app?.stop();
    if (!process.env.NITRACE_RPCAPP_KEEP) rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const ops = loggedRpcs(truth, pids, a);
  const calls = ops.filter((o) => o.op.op === 'call');
  const counts = { call: calls.length, cast: ops.filter((o) => o.op.op === 'cast').length, fanout: ops.filter((o) => o.op.op === 'fanout').length };
  t.diagnostic(`rpcapp: ${phases.join(', ')}`);
  t.diagnostic(`rpcapp: ${JSON.stringify(counts)} RPC operations, ${a.spans.length} spans; kept in ${process.env.NITRACE_RPCAPP_KEEP ? dir : '(removed)'}`);
  assert.ok(counts.call >= REQUESTS && counts.cast >= REQUESTS / 4 && counts.fanout >= REQUESTS / 4, `workload ran: ${JSON.stringify(counts)}`);

  const parentOf = (s: Span | undefined): Span | undefined => (s?.parent_span_id ? a.byId.get(s.parent_span_id) : undefined);
  const name = (s: Span | undefined): string => (s ? `${s.kind} ${s.protocol} ${s.method ?? ''} pid ${s.pid} :${s.local_port}->:${s.remote_port} (${s.span_id})` : 'none');
  const linked = (child: Span | undefined, parent: Span | undefined, what: string, problems: string[]): void => {
    if (!child || !parent) problems.push(`${what}: ${!child ? 'child' : 'parent'} span not found`);
    else if (child.parent_span_id !== parent.span_id) problems.push(`${what}: parent of ${name(child)} is ${name(parentOf(child))} (${a.evidence.get(child.span_id) ?? 'no edge'}), want ${name(parent)}`);
    else if (child.trace_id !== parent.trace_id) problems.push(`${what}: linked across traces`);
  };
  const report = (problems: string[], total: number, what: string): void =>
    assert.deepEqual(problems.slice(0, 12), [], `${problems.length} of ${total} ${what} wrong; first ones listed`);

  // The request path of each RPC, and the handler each delivery started.
  const serverOf = new Map<string, Span>(); // `${nt_id}|${pid}` -> RPC server span
  await t.test('every RPC: client -> producer -> broker -> consumer -> server span, fanout to both workers', () => {
    const problems: string[] = [];
    for (const o of ops) {
      const what = `${o.op.op} ${o.op.method} ${o.op.nt_id}`;
      const publishes = legs(a, o.op.nt_id, o.callerPid, 'publish');
      if (publishes.length !== 1) {
        problems.push(`${what}: ${publishes.length} publishes of it seen from the caller`);
        continue;
      }
      const pub = wireSpans(a.spans, publishes[0]!);
      const client = parentOf(pub.producer);
      if (!client || client.kind !== 'client' || client.messaging_op !== 'rpc' || client.pid !== o.callerPid || client.method !== o.op.method) {
        problems.push(`${what}: the publish's parent is ${name(client)}, want the caller's RPC client span`);
        continue;
      }
      linked(pub.consumer, pub.producer, `${what}: broker takes the publish`, problems);
      for (const h of o.handlers) {
        const delivered = legs(a, o.op.nt_id, h.pid, 'deliver');
        if (delivered.length !== 1) {
          problems.push(`${what}: ${delivered.length} deliveries of it seen to its handler pid ${h.pid}`);
          continue;
        }
        const del = wireSpans(a.spans, delivered[0]!);
        linked(del.producer, pub.consumer, `${what}: broker delivers what it took`, problems);
        linked(del.consumer, del.producer, `${what}: handler takes the delivery`, problems);
        const server = a.spans.find((s) => s.parent_span_id === del.consumer?.span_id && s.kind === 'server');
        if (!server || server.messaging_op !== 'rpc' || server.method !== o.op.method || server.pid !== h.pid) {
          problems.push(`${what}: no RPC server span under the delivery (found ${name(server)})`);
          continue;
        }
        if (server.trace_id !== client.trace_id) problems.push(`${what}: server span in another trace than its client span`);
        serverOf.set(`${o.op.nt_id}|${h.pid}`, server);
      }
    }
    report(problems, ops.length, 'RPC request paths');
  });

  await t.test('every call paired with its reply: server -> reply producer -> broker -> caller; client span ends at the reply', () => {
    const problems: string[] = [];
    for (const o of calls) {
      const what = `call ${o.op.method} ${o.op.nt_id}`;
      const h = o.handlers[0]!;
      const server = serverOf.get(`${o.op.nt_id}|${h.pid}`);
      const replies = legs(a, o.op.nt_id, h.pid, 'publish');
      const arrivals = legs(a, o.op.nt_id, o.callerPid, 'deliver');
      if (!server || replies.length !== 1 || arrivals.length !== 1) {
        problems.push(`${what}: server span ${server ? 'found' : 'missing'}, ${replies.length} reply publishes, ${arrivals.length} reply deliveries`);
        continue;
      }
      const out = wireSpans(a.spans, replies[0]!);
      const back = wireSpans(a.spans, arrivals[0]!);
      linked(out.producer, server, `${what}: reply sent by its handler`, problems);
      linked(out.consumer, out.producer, `${what}: broker takes the reply`, problems);
      linked(back.producer, out.consumer, `${what}: broker delivers the reply`, problems);
      linked(back.consumer, back.producer, `${what}: caller takes the reply`, problems);
      if (out.producer && server.end_ns !== out.producer.end_ns) problems.push(`${what}: server span ends at ${server.end_ns}, the reply left at ${out.producer.end_ns}`);
      const client = parentOf(wireSpans(a.spans, legs(a, o.op.nt_id, o.callerPid, 'publish')[0]!).producer);
      if (client && back.consumer && client.end_ns !== back.consumer.end_ns) {
        problems.push(`${what}: client span ends at ${client.end_ns}, its reply arrived at ${back.consumer.end_ns} (${(Number((client.end_ns ?? 0n) - back.consumer.end_ns!) / 1e6).toFixed(1)} ms off)`);
      }
    }
    report(problems, calls.length, 'RPC replies');
  });

  await t.test('calls made inside eventlet green threads are children of the RPC server span that made them', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const line of truth.filter((l) => l.rpc)) {
      const pid = pids.get(line.service)!;
      const server = serverOf.get(`${line.rpc!.nt_id}|${pid}`);
      const what = `${line.service} ${line.rpc!.method} ${line.rpc!.nt_id}`;
      for (const call of line.outbound) {
        checked++;
        if (!server) {
          problems.push(`${what}: its server span is missing`);
          continue;
        }
        if (call.kind === 'rpc') {
          const pub = legs(a, call.nt_id, pid, 'publish')[0];
          linked(pub && parentOf(wireSpans(a.spans, pub).producer), server, `${what}: nested RPC ${call.method} ${call.nt_id}`, problems);
        } else {
          linked(endpointSpan(a.spans, 'client', call.local_port, call.remote_port, call.idx), server, `${what}: ${call.kind} ${call.what} (:${call.local_port} call ${call.idx})`, problems);
        }
      }
    }
    // The point of the test: handlers really ran at the same time on one OS thread.
    const concurrent = [...serverOf.values()].filter((s) => [...serverOf.values()].some((o) => o !== s && o.pid === s.pid && o.tid === s.tid && o.start_ns < (s.end_ns ?? s.start_ns) && s.start_ns < (o.end_ns ?? o.start_ns))).length;
    t.diagnostic(`rpcapp: ${checked} outbound calls of handlers checked; ${concurrent} of ${serverOf.size} handled RPCs overlapped another on the same OS thread`);
    assert.ok(concurrent >= 10, `handlers overlapped on one OS thread (${concurrent})`);
    report(problems, checked, 'outbound calls of RPC handlers');
  });

  // The api is a thread-per-request server: an RPC's client span is a child of the HTTP request being served on its
  // thread; and each of those is a child of the driver's HTTP call (one trace from the driver down).
  const clientOf = (o: LoggedRpc): Span | undefined => {
    const pub = legs(a, o.op.nt_id, o.callerPid, 'publish')[0];
    return pub && parentOf(wireSpans(a.spans, pub).producer);
  };
  const apiOps = ops.filter((o) => pids.get('api') === o.callerPid);
  await t.test('RPC client spans are children of the HTTP request that made them; HTTP requests of the driver\'s calls', () => {
    const problems: string[] = [];
    const first = apiOps.filter((o) => !o.afterCall);
    for (const o of first) linked(clientOf(o), o.callerParent(), `${o.op.op} ${o.op.method} ${o.op.nt_id}: client span under the api's request`, problems);
    const served = truth.filter((l) => l.service === 'api');
    for (const l of truth.filter((x) => x.service === 'driver')) {
      const call = l.outbound[0] as Outbound & { local_port: number; remote_port: number; idx: number };
      linked(endpointSpan(a.spans, 'server', call.remote_port, call.local_port, call.idx), endpointSpan(a.spans, 'client', call.local_port, call.remote_port, call.idx), `driver call :${call.local_port} #${call.idx}: api's server span under it`, problems);
    }
    report(problems, first.length + served.length, 'request links');
  });
  await t.test('RPC client spans made after an RPC call returned, on a thread-per-request thread, are children of its HTTP request', () => {
    const problems: string[] = [];
    const later = apiOps.filter((o) => o.afterCall);
    for (const o of later) linked(clientOf(o), o.callerParent(), `${o.op.op} ${o.op.method} ${o.op.nt_id}: client span under the api's request`, problems);
    report(problems, later.length, 'RPC client spans after a call');
  });

  if (!process.env.NITRACE_RPCAPP_KEEP) rmSync(dir, { recursive: true, force: true });
});

/** The sightings of an id on the connections of `pid`: `publish` (it sent the message to the broker) or `deliver` (the broker sent it to it). */
function legs(a: Analysed, id: string, pid: number, leg: 'publish' | 'deliver'): IdSighting[] {
  return (a.sightings.get(id) ?? []).filter((s) =>
    leg === 'publish' ? s.toPort === a.amqpPort && a.pidOfPort.get(s.fromPort) === pid : s.fromPort === a.amqpPort && a.pidOfPort.get(s.toPort) === pid,
  );
}

/** The RPCs the api and the handlers logged, with who handled each (a fanout cast: every worker). */
function loggedRpcs(truth: TruthLine[], pids: Map<string, number>, a: Analysed): LoggedRpc[] {
  const handledBy = new Map<string, TruthLine[]>();
  for (const l of truth) if (l.rpc) handledBy.set(l.rpc.nt_id, [...(handledBy.get(l.rpc.nt_id) ?? []), l]);
  const ops: LoggedRpc[] = [];
  for (const line of truth) {
    const callerPid = pids.get(line.service)!;
    for (const op of line.outbound) {
      if (op.kind !== 'rpc') continue;
      const handlers = (handledBy.get(op.nt_id) ?? []).map((l) => ({ pid: pids.get(l.service)!, line: l }));
      assert.equal(handlers.length, op.op === 'fanout' ? 2 : 1, `truth: ${op.op} ${op.nt_id} handled ${handlers.length} times`);
      const inbound = line.inbound;
      const callerParent = inbound
        ? () => endpointSpan(a.spans, 'server', inbound.server_port, inbound.client_port, inbound.idx)
        : () => {
            const del = legs(a, line.rpc!.nt_id, callerPid, 'deliver')[0];
            return del && a.spans.find((s) => s.kind === 'server' && s.parent_span_id === wireSpans(a.spans, del).consumer?.span_id);
          };
      const afterCall = !!inbound && line.outbound.slice(0, line.outbound.indexOf(op)).some((o) => o.kind === 'rpc' && o.op === 'call');
      ops.push({ op, callerPid, callerParent, handlers, afterCall });
    }
  }
  return ops;
}

async function loadAnalysis(out: string, cap: string, brokerPid: number, amqpPort: number): Promise<Analysed> {
  const spans = (await query(`SELECT ${SPAN_COLUMNS} FROM read_parquet('${out}/spans.parquet')`)).map((r) => {
    const cols = SPAN_COLUMNS.split(', ');
    return Object.fromEntries(cols.map((c, i) => [c, r[i]])) as unknown as Span;
  });
  const edges = await query<[string, string]>(`SELECT child_span_id, evidence FROM read_parquet('${out}/edges.parquet')`);
  const rows = await query<[number, 'send' | 'recv', number, number, bigint, { bytes: Uint8Array }]>(`SELECT pid, direction, local_port, remote_port, tcp_seq, payload
    FROM read_parquet('${cap}/events/*.parquet') WHERE event = 'data' AND (local_port = ${amqpPort} OR remote_port = ${amqpPort}) AND bytes > 0`);
  const events: AmqpEvent[] = rows.map(([pid, direction, local_port, remote_port, tcp_seq, payload]) => ({ pid, direction, local_port, remote_port, tcp_seq, payload: payload.bytes }));
  const sightings = new Map<string, IdSighting[]>();
  for (const s of sightIds(events)) sightings.set(s.id, [...(sightings.get(s.id) ?? []), s]);
  const pidOfPort = new Map<number, number>();
  for (const e of events) if (e.pid !== brokerPid && e.remote_port === amqpPort) pidOfPort.set(e.local_port, e.pid);
  return { spans, byId: new Map(spans.map((s) => [s.span_id, s])), evidence: new Map(edges), sightings, pidOfPort, amqpPort };
}

/** The broker's AMQP port, from the capture's own config (`--snaplen-port PORT=65536`). */
function manifestAmqpPort(cap: string): number {
  const m = JSON.parse(readFileSync(join(cap, 'manifest.json'), 'utf8')) as { config: { snaplen_ports: Record<string, number> } };
  return Number(Object.keys(m.config.snaplen_ports)[0]);
}

/** Casts and fanouts are answered before they are handled: wait until every handler logged its work. */
async function waitForHandlers(truthFile: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const lines = existsSync(truthFile) ? readTruth(truthFile) : [];
    const handled = new Set(lines.filter((l) => l.rpc).map((l) => `${l.service}|${l.rpc!.nt_id}`));
    const wanted = lines.flatMap((l) => l.outbound.filter((o): o is RpcOp => o.kind === 'rpc').map((o) => (o.op === 'fanout' ? 2 : 1)));
    if (handled.size >= wanted.reduce((x, y) => x + y, 0) && lines.some((l) => l.service === 'api')) return;
    await sleep(100);
  }
  throw new Error(`rpcapp: handlers did not log all their RPCs within 30 s (${truthFile})`);
}
