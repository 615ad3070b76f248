/**
 * The messaging steps (messageSpans, brokerHops, rpcPairs) on real oslo.messaging bytes: the three AMQP connections
 * of one process recorded by analyze/protocols/amqp/record_testdata.py (an RPC client and server in one process
 * talking through RabbitMQ: calls `ping` and `fail`, a cast `build_instances`), written as a capture whose broker
 * side is not captured, analyzed end to end, read back from spans.parquet and edges.parquet.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SyntheticCapture } from '../../testing/syntheticCapture.js';
import { fromBase64, T0_NS } from '../../testing/protocolTestkit.js';
import { analyzeCaptures } from '../analyze.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { connection0, connection1, connection2 } from '../protocols/amqp/testdata.js';

interface Span {
  span_id: string;
  kind: string;
  method: string;
  rpc_kind: string;
  messaging_op: string;
  status: string | null;
  start_us: number;
  end_us: number | null;
  parent: string | null;
  evidence: string | null;
}

/** Analyzes the recorded connections, each syscall cut at `snaplen`; spans in start order with their parent edge. */
async function analyzeRecorded(snaplen: number): Promise<Span[]> {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-messaging-'));
  try {
    const cap = new SyntheticCapture();
    cap.snaplen = snaplen;
    const app = { node: 'n1', pid: 100, comm: 'rpc', addr: '127.0.0.1', port: 0 };
    const broker = { node: 'n1', pid: 200, comm: 'beam.smp', addr: '127.0.0.1', port: 5672 };
    for (const [i, recorded] of [connection0, connection1, connection2].entries()) {
      const conn = cap.connect({ ...app, port: 40000 + i }, broker);
      for (const [type, tUs, b64] of recorded) {
        const t = T0_NS + BigInt(tUs) * 1000n;
        // the broker's own syscalls are not in this capture
        cap.message(conn, type === 'request', fromBase64(b64), t, t, 101 + i, 201, type === 'request' ? 'recv' : 'send');
      }
    }
    const [dir] = await cap.write(join(root, 'cap'), ['n1'], [{ node: 'n1', pid: 100, comm: 'rpc', cmdline: 'python3 rpc' }]);
    const out = join(root, 'out');
    await analyzeCaptures({ captureDirs: [dir!], out });
    const e = await DuckDbEngine.open();
    try {
      return await e.query<Span>(
        `SELECT s.span_id, s.kind, s.method, s.rpc_kind, s.messaging_op, s.status,
                ((s.start_ns - ${T0_NS}) // 1000)::INTEGER AS start_us, ((s.end_ns - ${T0_NS}) // 1000)::INTEGER AS end_us,
                e.parent_span_id AS parent, e.evidence
         FROM '${join(out, 'spans.parquet')}' s LEFT JOIN '${join(out, 'edges.parquet')}' e ON e.child_span_id = s.span_id
         WHERE s.protocol = 'amqp' ORDER BY s.start_ns, s.span_id`,
      );
    } finally {
      e.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Each RPC's chain from its client span down: `kind method [evidence of the hop into it]`. */
function chains(spans: readonly Span[]): string[][] {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const children = new Map<string, Span[]>();
  for (const s of spans) if (s.parent && byId.has(s.parent)) (children.get(s.parent) ?? children.set(s.parent, []).get(s.parent)!).push(s);
  const walk = (s: Span): string[] => {
    // follow the messaging chain only (not other RPCs a server span may own)
    const next = (children.get(s.span_id) ?? []).find((c) => c.kind !== 'client');
    return [`${s.kind} ${s.method}${s.evidence && s.kind !== 'client' ? ` [${s.evidence}]` : ''}`, ...(next ? walk(next) : [])];
  };
  return spans.filter((s) => s.kind === 'client' && s.messaging_op === 'rpc').map(walk);
}

const CALL = (method: string, hop: string, reply: string): string[] => [
  `client ${method}`, `producer ${method} [message]`, `consumer ${method} [${hop}]`, `server ${method} [message]`,
  `producer reply [${reply}]`, `consumer reply [${hop}]`,
];
const CAST = (method: string, hop: string): string[] => [`client ${method}`, `producer ${method} [message]`, `consumer ${method} [${hop}]`, `server ${method} [message]`];

describe('messaging on recorded oslo.messaging bytes', () => {
  it('whole messages: calls and the cast cross the broker by _unique_id, replies pair by _msg_id, calls end at their reply', async () => {
    const spans = await analyzeRecorded(65536);
    assert.deepEqual(chains(spans), [
      CALL('ping', 'broker:_unique_id', 'content:_msg_id'),
      CAST('build_instances', 'broker:_unique_id'),
      CALL('fail', 'broker:_unique_id', 'content:_msg_id'),
      CALL('ping', 'broker:_unique_id', 'content:_msg_id'),
    ]);
    const clients = spans.filter((s) => s.kind === 'client');
    const replyDelivered = spans.filter((s) => s.kind === 'consumer' && s.method === 'reply').map((s) => s.start_us);
    // a call's client span ends when its reply is delivered; the cast has no end
    assert.deepEqual(clients.map((s) => [s.method, s.rpc_kind, s.status, s.end_us]), [
      ['ping', 'call', 'ok', replyDelivered[0]],
      ['build_instances', 'cast', null, null],
      ['fail', 'call', 'error', replyDelivered[1]],
      ['ping', 'call', 'ok', replyDelivered[2]],
    ]);
    // a server span of a call ends when its reply is published
    const servers = spans.filter((s) => s.kind === 'server' && s.rpc_kind === 'call');
    const replyPublished = spans.filter((s) => s.kind === 'producer' && s.method === 'reply').map((s) => s.start_us);
    assert.deepEqual(servers.map((s) => s.end_us), replyPublished);
  });

  it('heads cut at 512 bytes (ids past the head lost): every message still crosses the broker; a reply is paired or missing, never wrong', async () => {
    const strip = (c: string[]): string[] => c.map((x) => x.replace(/ \[.*\]$/, '')).slice(0, 4);
    const whole = await analyzeRecorded(65536);
    const cut = await analyzeRecorded(512);
    assert.deepEqual(chains(cut).map(strip), chains(whole).map(strip));
    for (const s of cut.filter((x) => x.kind === 'consumer')) assert.match(s.evidence ?? '', /^broker:(_unique_id|body|fifo)$/, `${s.method} crossed the broker by ${s.evidence}`);
    const endOf = new Map(whole.filter((s) => s.kind === 'client').map((s) => [s.span_id, s.end_us]));
    const clients = cut.filter((s) => s.kind === 'client' && s.rpc_kind === 'call');
    for (const s of clients) if (s.end_us !== null) assert.equal(s.end_us, endOf.get(s.span_id), `${s.method}: paired with its own reply`);
    assert.ok(clients.some((s) => s.end_us !== null), 'the first ping\'s ids fit in 512 bytes');
  });
});
