import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCandidates } from './candidates.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { correlateTraceRequestIds } from './requestIds.js';

type Span = [id: string, pid: number, kind: string, protocol: string, start: number, end: number | null];

/**
 * nova-api (pid 1) answers POST /servers with req-a and casts a build; conductor and broker hops (pid 2, exact links)
 * lead to nova-compute (pid 5), where the build handler B (head cut by the snaplen: no request id of its own) and a
 * terminate handler T (its own head names req-t) run on one OS thread, neither ending on the wire (casts).
 */
async function novaLike(): Promise<DuckDbEngine> {
  const engine = await DuckDbEngine.open();
  await engine.exec(`CREATE TABLE spans_raw (span_id VARCHAR, node VARCHAR, pid INTEGER, kind VARCHAR, protocol VARCHAR, raw_start_ns BIGINT, raw_end_ns BIGINT)`);
  await engine.exec('CREATE TABLE span_ids (span_id VARCHAR, field VARCHAR, value VARCHAR)');
  await engine.exec('CREATE TABLE owner_units (span_id VARCHAR, node VARCHAR, pid INTEGER, raw_start_ns BIGINT, unit VARCHAR)');
  await engine.exec('CREATE TABLE handler_ends (span_id VARCHAR, end_ns BIGINT, how VARCHAR)');
  await createCandidates(engine);
  const spans: Span[] = [
    ['api', 1, 'server', 'http', 0, 100], ['api-cast', 1, 'client', 'amqp', 10, 11], ['bus', 2, 'consumer', 'amqp', 12, 13],
    ['B', 5, 'server', 'amqp', 20, null], ['T', 5, 'server', 'amqp', 30, null],
    // compute's calls: x carries req-a in its RPC context, but the sweep guessed T (resume + session votes)
    ['x', 5, 'client', 'amqp', 40, 41],
    // a neutron call with req-t in its X-OpenStack-Request-ID; another id (neutron's own) in its response
    ['y', 5, 'client', 'http', 42, 43],
    // a database session: its INSERT names req-a, its other statements nothing
    ['q1', 5, 'client', 'mysql', 44, 45], ['q2', 5, 'client', 'mysql', 46, 47], ['q3', 5, 'client', 'mysql', 48, 49],
    // a call with an id nobody open carries, and one with exact evidence that names T although it carries req-a
    ['z', 5, 'client', 'http', 50, 51], ['w', 5, 'client', 'http', 52, 53],
  ];
  for (const [id, pid, kind, protocol, s, e] of spans) {
    await engine.exec(`INSERT INTO spans_raw VALUES ('${id}', 'n', ${pid}, '${kind}', '${protocol}', ${s}, ${e ?? 'NULL'})`);
  }
  for (const [s, f, v] of [
    ['api', 'x-openstack-request-id', 'req-a'], ['T', 'request_id', 'req-t'], ['x', 'request_id', 'req-a'],
    ['y', 'x-openstack-request-id', 'req-t'], ['y', 'x-openstack-request-id', 'req-neutron'], ['q2', 'request_id', 'REQ-A'],
    ['z', 'x-openstack-request-id', 'req-other'], ['w', 'x-openstack-request-id', 'req-a'],
  ]) await engine.exec(`INSERT INTO span_ids VALUES ('${s}', '${f}', '${v}')`);
  for (const q of ['q1', 'q2', 'q3']) await engine.exec(`INSERT INTO owner_units VALUES ('${q}', 'n', 5, 44, 'n/7/1')`);
  await engine.exec(`INSERT INTO owner_units VALUES ('x', 'n', 5, 40, 'x')`);
  for (const [p, c, e, x] of [
    ['api', 'api-cast', 'thread', 0.9], ['api-cast', 'bus', 'spatial', 1], ['bus', 'B', 'message', 1], ['bus', 'T', 'message', 1],
    ['T', 'x', 'green:resume', 0.85], ['T', 'x', 'green:session', 0.9], ['B', 'x', 'green:fifo', 0.7],
    ['B', 'y', 'green:resume', 0.85],
    ['T', 'q1', 'green:session', 0.9], ['T', 'q2', 'green:session', 0.9], ['T', 'q3', 'green:session', 0.9], ['T', 'q3', 'green:resume', 0.85],
    ['T', 'z', 'green:resume', 0.85], ['T', 'w', 'thread', 0.9],
  ] as const) await engine.exec(`INSERT INTO candidates VALUES ('${p}', '${c}', '${e}', ${x})`);
  return engine;
}

test('request ids across processes: a call or session goes to the open handler whose own or inherited request id it carries', async () => {
  const engine = await novaLike();
  try {
    await correlateTraceRequestIds(engine);
    const rows = await engine.query<{ l: string }>(`SELECT child || '<-' || parent || ' ' || evidence || ' ' || round(confidence, 2) AS l
      FROM candidates WHERE child IN ('x', 'y', 'q1', 'q2', 'q3', 'z', 'w') ORDER BY child, parent, evidence`);
    assert.deepEqual(rows.map((r) => r.l), [
      // B inherits req-a from nova-api through the broker and the cast: x and the session are B's, T's guesses go
      'q1<-B content:trace_request_id 0.95',
      'q2<-B content:trace_request_id 0.95',
      'q3<-B content:trace_request_id 0.95',
      'w<-T thread 0.9',
      'x<-B content:trace_request_id 0.95',
      'x<-B green:fifo 0.7',
      // T's own id names y: the sweep's guess for B is dropped
      'y<-T content:trace_request_id 0.95',
      // nobody open carries z's id: the sweep's guess stays
      'z<-T green:resume 0.85',
    ]);
  } finally {
    engine.close();
  }
});

test('request ids across processes: two open handlers of one request share the confidence; another request\'s handler keeps no guess', async () => {
  const engine = await novaLike();
  try {
    // a second build handler of the same request (two servers in one POST) is open too
    await engine.exec(`INSERT INTO spans_raw VALUES ('B2', 'n', 5, 'server', 'amqp', 25, NULL)`);
    await engine.exec(`INSERT INTO candidates VALUES ('bus', 'B2', 'message', 1)`);
    await correlateTraceRequestIds(engine);
    const rows = await engine.query<{ l: string }>(`SELECT parent || ' ' || evidence || ' ' || round(confidence, 3) AS l
      FROM candidates WHERE child = 'x' ORDER BY parent, evidence`);
    // T's own head names req-t: it serves another request, and its guesses for x (which carries req-a) go
    assert.deepEqual(rows.map((r) => r.l), ['B content:trace_request_id 0.475', 'B green:fifo 0.7', 'B2 content:trace_request_id 0.475']);
  } finally {
    engine.close();
  }
});

test('request ids across processes: a handler ended by an unnamed reply no longer shares its request\'s units; another request\'s handler keeps no guess', async () => {
  const engine = await novaLike();
  try {
    // As nova-conductor on the schema-1 sample: B (inherits req-a) was answered at 39 by a reply whose _msg_id the
    // snaplen cut (handlerEnds.ts); E's own head names req-a (an InstanceActionEvent call), X's names req-x and the
    // same instance. A session at 70 names req-a in one statement (instance_actions.request_id = 'req-a'); X took it
    // by the instance UUID and the sweep's resume.
    await engine.exec(`INSERT INTO handler_ends VALUES ('B', 39, 'reply')`);
    for (const [id, start, end] of [['X', 60, null], ['E', 65, 90], ['s1', 70, 71], ['s2', 72, 73]] as const) {
      const kind = id.startsWith('s') ? 'client' : 'server';
      await engine.exec(`INSERT INTO spans_raw VALUES ('${id}', 'n', 5, '${kind}', '${kind === 'client' ? 'mysql' : 'amqp'}', ${start}, ${end ?? 'NULL'})`);
    }
    for (const [sp, v] of [['E', 'req-a'], ['X', 'req-x'], ['s2', 'req-a']]) await engine.exec(`INSERT INTO span_ids VALUES ('${sp}', 'request_id', '${v}')`);
    for (const q of ['s1', 's2']) await engine.exec(`INSERT INTO owner_units VALUES ('${q}', 'n', 5, 70, 'n/8/1')`);
    for (const [c, e, x] of [['s1', 'content:uuid', 0.9], ['s2', 'content:uuid', 0.9], ['s1', 'green:resume', 0.85]] as const) {
      await engine.exec(`INSERT INTO candidates VALUES ('X', '${c}', '${e}', ${x})`);
    }
    await correlateTraceRequestIds(engine);
    const rows = await engine.query<{ l: string }>(`SELECT child || '<-' || parent || ' ' || evidence || ' ' || round(confidence, 3) AS l
      FROM candidates WHERE child IN ('s1', 's2') ORDER BY child, parent, evidence`);
    assert.deepEqual(rows.map((r) => r.l), ['s1<-E content:trace_request_id 0.95', 's2<-E content:trace_request_id 0.95']);
  } finally {
    engine.close();
  }
});
