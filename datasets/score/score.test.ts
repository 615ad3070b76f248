import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepflowParents } from './baselines/deepflow.js';
import { fcfsParents } from './baselines/fcfs.js';
import { callLinks } from './baselines/ownership.js';
import { vpathParents } from './baselines/vpath.js';
import { fixtureSpans, fixtureTruth, perfectParents } from './fixtures.js';
import { effectiveParents } from './observable.js';
import type { TruthPoint } from '../truth/types.js';
import { mapTruth, normPath, offsetFromIntervals, sqlKey, sqlMatches } from './mapTruth.js';
import type { ObservedEdge, ObservedSpan } from './observed.js';
import { scoreAll } from './score.js';
import { scoreEdges } from './scoreEdges.js';

const edgesOf = (parents: Map<string, string>): ObservedEdge[] =>
  [...parents].map(([child, parent]) => ({ parent_span_id: parent, child_span_id: child, edge_kind: null, evidence: null }));

test('SQL heads: placeholders cut, literal values on the wire still match', () => {
  assert.equal(sqlKey("SELECT  a\n FROM t WHERE x = %(x_1)s AND y IN (1, 'b') LIMIT %s"), 'select a from t where x = ? and y in (?, ?) limit ?');
  assert.equal(sqlKey('SELECT anon_1.images_id FROM t1'), 'select anon_1.images_id from t1');
  assert.ok(sqlMatches("SELECT a FROM t WHERE x = 'v'", 'SELECT a FROM t WHERE x = %(x_1)s'));
  assert.ok(sqlMatches('SELECT a FROM t WHERE x = ?', 'SELECT a FROM t WHERE x = %(x_1)s'));
  assert.ok(sqlMatches('SELECT 1', 'SELECT 1'));
  assert.ok(sqlMatches('SELECT ?', 'SELECT 1'));
  assert.ok(sqlMatches('INSERT INTO role (id, extra) VALUES (?, NULL)', 'INSERT INTO role (id, extra) VALUES (%(id)s, %(extra)s)'));
  assert.ok(sqlMatches('SELECT a, b FROM t WHERE', 'SELECT a, b FROM t WHERE x = %(x)s')); // cut wire head
  assert.ok(!sqlMatches('SELECT a, c FROM t', 'SELECT a, b FROM t'));
  assert.ok(!sqlMatches('SEL', 'SELECT a FROM t'));
  assert.ok(!sqlMatches('SELECT 1', 'SELECT anon_1.images_created_at'));
  assert.ok(!sqlMatches(null, 'SELECT 1'));
});

test('mapping: every fixture point finds its own span, SELECT 1 by time and process', () => {
  const m = mapTruth(fixtureTruth(), fixtureSpans());
  assert.deepEqual(Object.fromEntries(m.spanOf), {
    k1: 'K1', d1: 'D1', g1: 'G1', k2: 'K2', d2: 'D2', d3: 'D3', g2: 'G2', k3: 'K3', d4: 'D4',
  });
  assert.ok(Math.abs(m.offsetUs + 500) < 1000, `offset ${m.offsetUs}`);
});

test('a perfect reconstruction scores 1 everywhere', () => {
  const s = scoreEdges(fixtureTruth(), mapTruth(fixtureTruth(), fixtureSpans()), fixtureSpans(), perfectParents());
  assert.deepEqual([s.tp, s.fp, s.fn, s.truth_edges], [6, 0, 0, 6]);
  assert.deepEqual([s.edge_f1, s.precision, s.recall, s.strict_accuracy, s.coverage], [1, 1, 1, 1, 1]);
  assert.deepEqual([s.traces, s.traces_correct], [2, 2]);
  assert.equal(s.by_kind.http!.truth_edges, 2);
  assert.equal(s.by_kind.db!.truth_edges, 4);
  assert.equal(s.by_kind.rpc!.truth_edges, 0);
  assert.deepEqual(Object.keys(s.by_service), ['glance/api', 'keystone/public']);
});

test('a trace wrong in exactly one edge: one FP, one FN, that trace fails strict, the other passes', () => {
  const parents = perfectParents();
  parents.set('D4', 'K1'); // trace b's SELECT 1 given to trace a's token request
  const s = scoreEdges(fixtureTruth(), mapTruth(fixtureTruth(), fixtureSpans()), fixtureSpans(), parents);
  assert.deepEqual([s.tp, s.fp, s.fn], [5, 1, 1]);
  assert.equal(s.precision, 5 / 6);
  assert.equal(s.recall, 5 / 6);
  assert.equal(s.edge_f1, 5 / 6);
  assert.deepEqual([s.traces_correct, s.traces, s.strict_accuracy], [1, 2, 0.5]);
  assert.deepEqual([s.by_kind.db!.tp, s.by_kind.db!.fp, s.by_kind.http!.tp], [3, 1, 2]);
  assert.equal(s.by_service['keystone/public']!.fp, 1);
  assert.equal(s.by_service['glance/api']!.fp, 0);
});

test('missing evidence: an unmapped point costs recall and coverage, not precision', () => {
  const spans = fixtureSpans().filter((x) => x.span_id !== 'D2');
  const s = scoreEdges(fixtureTruth(), mapTruth(fixtureTruth(), spans), spans, perfectParents());
  assert.deepEqual([s.tp, s.fp, s.fn], [5, 0, 1]);
  assert.equal(s.precision, 1);
  assert.equal(s.coverage, 8 / 9);
  assert.equal(s.strict_accuracy, 0.5);
});

test('a reconstruction that links nothing predicts nothing: precision 0, recall 0', () => {
  const s = scoreEdges(fixtureTruth(), mapTruth(fixtureTruth(), fixtureSpans()), fixtureSpans(), new Map());
  assert.deepEqual([s.tp, s.fp, s.fn, s.edge_f1, s.strict_accuracy], [0, 0, 6, 0, 0]);
});

test('baselines on the fixture: FCFS hands g2\'s token call to g1; vPath and DeepFlow are right', () => {
  const spans = fixtureSpans();
  const edges = edgesOf(perfectParents());
  const fcfs = fcfsParents(spans, edges);
  assert.equal(fcfs.get('GK3'), 'G1');
  assert.equal(fcfs.get('D4'), 'K3'); // K1 closed at 225 ms
  assert.equal(vpathParents(spans, edges).get('GK3'), 'G2');
  assert.equal(deepflowParents(spans, edges).get('GK3'), 'G2');
  const r = scoreAll(fixtureTruth(), { spans, edges }, ['fcfs', 'vpath', 'deepflow']);
  assert.equal(r.edge_f1, 1);
  assert.deepEqual([r.baselines.fcfs!.tp, r.baselines.fcfs!.fp, r.baselines.fcfs!.strict_accuracy], [5, 1, 0.5]);
  assert.equal(r.baselines.vpath!.edge_f1, 1);
  assert.equal(r.baselines.deepflow!.edge_f1, 1);
});

test('vPath keeps a closed request as owner, DeepFlow does not; process vs thread scope', () => {
  const s = (id: string, kind: 'client' | 'server', tid: number, a: number, b: number): ObservedSpan => ({
    span_id: id, parent_span_id: null, kind, pid: 1, tid, service: 'svc', comm: null, protocol: 'http', method: 'GET',
    path: '/', local_port: null, remote_port: null, start_us: a, end_us: b,
  });
  const spans = [s('R1', 'server', 1, 0, 10), s('R2', 'server', 2, 5, 50), s('C', 'client', 1, 20, 25)];
  assert.equal(vpathParents(spans, []).get('C'), 'R1'); // last inbound on thread 1, already answered
  assert.equal(deepflowParents(spans, []).get('C'), undefined); // nothing open on thread 1
  assert.equal(fcfsParents(spans, []).get('C'), 'R2'); // the only open request of the process
});

test('call links come from the reconstruction, else from mirrored ports', () => {
  const spans = fixtureSpans().map((x) => (x.span_id === 'GK2' ? { ...x, local_port: 40000 } : x.span_id === 'K2' ? { ...x, remote_port: 40000 } : x));
  assert.equal(callLinks(spans, []).get('K2'), 'GK2');
  assert.equal(callLinks(spans, edgesOf(perfectParents())).get('K3'), 'GK3');
});

test('per evidence: predicted edges grouped by the evidence of every hop to the parent, right and wrong counted', () => {
  const parents = perfectParents();
  parents.set('D4', 'K1'); // one wrong db edge
  const edges = [...parents].map(([child, parent]) => ({
    parent_span_id: parent,
    child_span_id: child,
    edge_kind: null,
    evidence: fixtureSpans().find((x) => x.span_id === child)!.kind === 'server' ? 'spatial' : 'thread',
  }));
  const r = scoreAll(fixtureTruth(), { spans: fixtureSpans(), edges }, []);
  const e = r.by_evidence!;
  const total = Object.values(e).reduce((n, x) => n + x.predicted, 0);
  assert.equal(total, r.tp + r.fp, 'every predicted edge of a truth child is in exactly one evidence group');
  assert.deepEqual(e.thread, { predicted: 4, right: 3, wrong: 1, precision: 0.75 });
  assert.equal(e['spatial > thread']!.right, 2); // keystone's server side -> glance's client call -> glance's handler
  assert.equal(scoreAll(fixtureTruth(), { spans: fixtureSpans(), edges }, ['fcfs']).baselines.fcfs!.by_evidence, undefined);
});

/** Points and spans of one keystone process (pid 10) for the mapping tests below; times in ms from T0. */
const T0 = 1_795_759_756_000_000_000n;
const pt = (id: string, parent: string, name: string, t: [number, number], extra: Partial<TruthPoint>): TruthPoint => ({
  base_id: `trace-${id}`, trace_id: id, parent_id: parent, name, project: 'keystone', service: 'public', host: 'vm',
  started_ns: T0 + BigInt(Math.round(t[0] * 1e6)), finished_ns: T0 + BigInt(Math.round(t[1] * 1e6)), depth: 0,
  method: null, path: null, query: null, statement: null, function: null, exception: null, ...extra,
});
const sp = (id: string, kind: 'client' | 'server', t: [number, number], extra: Partial<ObservedSpan>): ObservedSpan => ({
  span_id: id, parent_span_id: null, kind, pid: 10, tid: 11, service: 'keystone', comm: null, protocol: 'http', method: null,
  path: null, local_port: null, remote_port: null, start_us: Number(T0 / 1000n) + t[0] * 1000, end_us: Number(T0 / 1000n) + t[1] * 1000, ...extra,
});
const request = (id: string, t: [number, number]) => pt(id, `trace-${id}`, 'wsgi', t, { method: 'GET', path: '/v3/auth/tokens' });
const requestSpan = (id: string, t: [number, number]) => sp(id, 'server', t, { local_port: 5000, method: 'GET', path: '/v3/auth/tokens' });
const ping = (id: string, parent: string, t: [number, number]) => ({ ...pt(id, parent, 'db', t, { statement: 'SELECT 1' }), base_id: `trace-${parent}` });
const pingSpan = (id: string, t: [number, number]) => sp(id, 'client', t, { protocol: 'mysql', method: 'SELECT', path: 'SELECT ?', remote_port: 3306 });

test('clock offset: the middle of what most server matches allow, not the median start difference', () => {
  // every first byte ~0.9 ms before its middleware (start differences), every last byte ~0.6 ms after it stopped
  assert.equal(offsetFromIntervals([[-900, 600], [-850, 700], [-950, 650], [-800, 550]]), -125);
  assert.equal(offsetFromIntervals([[-900, 600], [-850, 700], [5_000, 9_000]]), -125); // a wrong match elsewhere
  assert.equal(offsetFromIntervals([[-900, Infinity]]), -900);
  assert.equal(offsetFromIntervals([]), 0);
  // a request read 0.9 ms before its point started, answered 0.5 ms after it stopped: offset 0 within the slack
  const m = mapTruth([request('a', [0, 100])], [requestSpan('A', [-0.9, 100.5])]);
  assert.ok(Math.abs(m.offsetUs + 200) < 1, `offset ${m.offsetUs}`);
});

test('two green threads\' pings inside both points: the end and the time order decide, not the loose start', () => {
  // two requests served at once; each one's SELECT 1 point ends right after its own ping's response was read
  const points = [request('a', [0, 100]), request('b', [0.5, 100]), ping('pa', 'a', [29.9, 47.5]), ping('pb', 'b', [31.4, 48.2])];
  const spans = [requestSpan('A', [-0.5, 100.5]), requestSpan('B', [0, 100.5]), pingSpan('PA', [45.0, 47.4]), pingSpan('PB', [45.8, 48.1])];
  assert.deepEqual(Object.fromEntries(mapTruth(points, spans).spanOf), { a: 'A', b: 'B', pa: 'PA', pb: 'PB' });
  // another ping lying well inside pa's point, whose own ping ends with it: the end-tight one is pa's
  const inside = [...spans.filter((s) => s.span_id !== 'PB'), pingSpan('PX', [31.0, 40.0])];
  assert.equal(mapTruth(points.slice(0, 3), inside).spanOf.get('pa'), 'PA');
});

test('costs within ORDER_TIE_US: the assignment that keeps the order of the points wins', () => {
  // two nova-conductor object_action handlers delivered 5.8 ms apart (the large compute sample): crosswise costs the
  // same and greedy takes its cheapest pair first; the poller spawned them in delivery order, so their points start
  // in that order
  const handler = (id: string, t: [number, number]) => ({
    ...pt(id, `trace-${id}`, 'rpc', t, { function: 'nova.conductor.manager.ConductorManager.object_action' }), project: 'nova', service: 'nova-conductor',
  });
  const handlerSpan = (id: string, t: [number, number]) => sp(id, 'server', t, { pid: 20, service: 'nova-conductor', protocol: 'amqp', method: 'object_action' });
  const points = [request('a', [0, 100]), handler('h1', [1041.1, 1717.8]), handler('h2', [1050.0, 1735.6])];
  const spans = [requestSpan('A', [-0.5, 100.5]), handlerSpan('H1', [1000.0, 1758.4]), handlerSpan('H2', [1005.8, 1742.3])];
  const m = mapTruth(points, spans);
  assert.deepEqual([m.spanOf.get('h1'), m.spanOf.get('h2')], ['H1', 'H2']);
});

test('an RPC handler point cannot outlive its reply: a call answered before the point stopped is another call', () => {
  // cv-rpc (session 13): nova-compute's start_instance and a periodic task both called nova-conductor's
  // object_class_action_versions, delivered 5.2 ms apart; only start_instance's is profiled. Its handler point started
  // 6.4 ms after its delivery (a busy hub) and 1.2 ms after the periodic call's, whose reply went 8.3 ms before the
  // point stopped: the handler cannot have answered before it returned
  const handler = (id: string, t: [number, number]) => ({
    ...pt(id, `trace-${id}`, 'rpc', t, { function: 'nova.conductor.manager.ConductorManager.object_class_action_versions' }), project: 'nova', service: 'nova-conductor',
  });
  const handlerSpan = (id: string, t: [number, number]) => sp(id, 'server', t, { pid: 20, service: 'nova-conductor', protocol: 'amqp', method: 'object_class_action_versions' });
  const points = [request('a', [0, 100]), handler('h', [1057.1, 1083.7])];
  const spans = [requestSpan('A', [-0.5, 100.5]), handlerSpan('OWN', [1050.7, 1084.3]), handlerSpan('PERIODIC', [1055.9, 1075.4])];
  assert.equal(mapTruth(points, spans).spanOf.get('h'), 'OWN');
});

test('second chance: a point delayed far beyond the tolerance takes the span nobody else took', () => {
  // the WSGI point starts 393 ms after uWSGI read the request (a busy process); its SQL child is otherwise exact
  const points = [request('a', [393, 3000]), ping('pa', 'a', [500, 501]), request('z', [5000, 5010])];
  const spans = [requestSpan('A', [0, 3020]), pingSpan('PA', [500.2, 500.9]), requestSpan('Z', [4999.5, 5010.5])];
  const m = mapTruth(points, spans);
  assert.equal(m.spanOf.get('a'), 'A');
  assert.equal(m.spanOf.get('pa'), 'PA');
});

test('a call\'s point parents only the callee\'s points: the neutron client\'s keystone login hangs off its caller', () => {
  const base = { base_id: 'trace-x', project: 'nova', service: 'nova-conductor' };
  const handler = { ...pt('h', 'trace-x', 'rpc', [0, 100], { function: 'nova.conductor.manager.ComputeTaskManager.migrate_server' }), ...base };
  const call = { ...pt('n', 'h', 'neutron_api', [10, 60], { function: 'neutronclient.v2_0.client.ClientBase.do_request' }), ...base };
  const login = { ...pt('k', 'n', 'wsgi', [11, 20], { method: 'POST', path: '/v3/auth/tokens' }), base_id: 'trace-x' };
  const ports = { ...pt('p', 'n', 'wsgi', [40, 50], { method: 'GET', path: '/v2.0/ports' }), base_id: 'trace-x', project: 'neutron', service: 'api' };
  const parents = effectiveParents([handler, call, login, ports]);
  assert.equal(parents.get('k'), 'h');
  assert.equal(parents.get('p'), 'n');
  assert.equal(parents.get('n'), 'h');
});

test('a client point cannot end before its own response: another green thread\'s ping ending just after it loses', () => {
  // compute-large: a nova-conductor SELECT 1 point (16.5 ms before its own ping was sent: the green thread waited
  // for the hub) and two pings of two green threads; the other one (an unprofiled request's) ends 0.3 ms after the
  // point stopped, which no statement of the point can do
  const points = [request('a', [0, 100]), ping('pa', 'a', [37.5, 59.8])];
  const spans = [requestSpan('A', [-0.5, 100.5]), pingSpan('OTHER', [39.4, 60.1]), pingSpan('OWN', [54.0, 56.1])];
  assert.equal(mapTruth(points, spans).spanOf.get('pa'), 'OWN');
});

test('an RPC handler method another handler called directly is no delivery: contracted, its calls hang off the handler', () => {
  // cv-rpc: nova-compute's rebuild_instance of a stopped server calls self.stop_instance; OSProfiler records a
  // stop_instance handler point inside the rebuild's, with no delivery on the wire, and the conductor calls made
  // under it are the rebuild delivery's on the wire
  const compute = { project: 'nova', service: 'nova-compute', base_id: 'trace-r' };
  const conductor = { project: 'nova', service: 'nova-conductor', base_id: 'trace-r' };
  const rebuild = { ...pt('r', 'trace-r', 'rpc', [0, 2000], { function: 'oslo_messaging.rpc.server.expected_exceptions.<locals>.outer.<locals>.inner' }), ...compute };
  const stop = { ...pt('s', 'r', 'rpc', [1600, 1900], { function: 'nova.compute.manager.ComputeManager.stop_instance' }), ...compute };
  const call = { ...pt('c', 's', 'rpc', [1610, 1650], { function: 'nova.conductor.manager.ConductorManager.object_action' }), ...conductor };
  const before = { ...pt('b', 'r', 'rpc', [100, 150], { function: 'nova.conductor.manager.ConductorManager.object_action' }), ...conductor };
  const handlerSpan = (id: string, pid: number, service: string, method: string, t: [number, number]) =>
    sp(id, 'server', t, { pid, service, comm: service, protocol: 'amqp', method });
  const spans = [
    handlerSpan('R', 30, 'nova-compute', 'rebuild_instance', [-5, -5]),
    handlerSpan('B', 20, 'nova-conductor', 'object_action', [98, 98]),
    handlerSpan('C', 20, 'nova-conductor', 'object_action', [1608, 1608]),
  ];
  const points = [rebuild, stop, call, before];
  const m = mapTruth(points, spans);
  assert.deepEqual([...m.inProcess], ['s']);
  const s = scoreEdges(points, m, spans, new Map([['C', 'R'], ['B', 'R']]));
  assert.deepEqual([s.tp, s.fp, s.fn, s.truth_edges, s.strict_accuracy], [2, 0, 0, 2, 1]);
  // a handler point that found its delivery is a real RPC the process made to itself (resize_instance -> finish_resize)
  const own = mapTruth(points, [...spans, handlerSpan('S', 30, 'nova-compute', 'stop_instance', [1590, 1590])]);
  assert.deepEqual([...own.inProcess], []);
  assert.equal(own.spanOf.get('s'), 'S');
});

test('an HTTP path matches its truth point whatever the two sides percent-escape', () => {
  // seen on a Tempest recording: the wire escapes ':' in a timestamp path, webob's OSProfiler point does not
  assert.equal(
    normPath('/v2.1/os-instance_usage_audit_log/2026-12-01%2007%3A13%3A04'),
    normPath('/v2.1/os-instance_usage_audit_log/2026-12-01%2007:13:04'),
  );
  assert.equal(normPath('/v3/a%zz/?x=1'), '/v3/a%zz');
  assert.equal(normPath('/v2/images/'), '/v2/images');
});
