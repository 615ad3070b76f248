/**
 * A hand-checked scoring fixture (used by the tests): two Tempest-like traces modelled on the real image-list
 * trace, the spans a perfect capture of them would give, and the parent map of a perfect reconstruction.
 *
 * Trace a:  k1 keystone POST /v3/auth/tokens      -> d1 SELECT 1
 *           g1 glance GET /v2/images              -> k2 keystone GET /v3/auth/tokens -> d2 SELECT revocation_event...
 *                                                 -> d3 SELECT anon_1.images...
 * Trace b:  g2 glance GET /v2/images/x            -> k3 keystone GET /v3/auth/tokens -> d4 SELECT 1
 * Truth edges: k1>d1, g1>k2, k2>d2, g1>d3 (a); g2>k3, k3>d4 (b): 6 edges, 2 traces.
 * Processes: keystone pid 10 (threads 11, 12), glance pid 20 (threads 21, 22), tempest pid 99.
 * g2 arrives (330 ms) while g1 (304..345 ms) is still open, on another glance thread: FCFS gives g2's token
 * validation to g1, the thread-based baselines get it right.
 */
import type { TruthPoint } from '../truth/types.js';
import type { ObservedSpan } from './observed.js';

export const T0_NS = 1_795_759_756_000_000_000n;
const ms = (x: number): bigint => T0_NS + BigInt(Math.round(x * 1000)) * 1000n;
const us = (x: number): number => Number(T0_NS / 1000n) + x * 1000;

function point(base: string, id: string, parent: string | null, name: string, project: string, t: [number, number], extra: Partial<TruthPoint> = {}): TruthPoint {
  return {
    base_id: base, trace_id: id, parent_id: parent ?? base, name, project, service: project === 'keystone' ? 'public' : 'api',
    host: 'vm', started_ns: ms(t[0]), finished_ns: ms(t[1]), depth: 0, method: null, path: null, query: null,
    statement: null, function: null, exception: null, ...extra,
  };
}
const wsgi = (method: string, path: string) => ({ method, path });
const db = (statement: string) => ({ statement });

export function fixtureTruth(): TruthPoint[] {
  return [
    point('a', 'k1', null, 'wsgi', 'keystone', [0, 225], wsgi('POST', '/v3/auth/tokens')),
    point('a', 'd1', 'k1', 'db', 'keystone', [8, 9], db('SELECT 1')),
    point('a', 'g1', null, 'wsgi', 'glance', [305, 344], wsgi('GET', '/v2/images')),
    point('a', 'k2', 'g1', 'wsgi', 'keystone', [309, 336], wsgi('GET', '/v3/auth/tokens')),
    point('a', 'd2', 'k2', 'db', 'keystone', [315, 319], db('SELECT revocation_event.id AS revocation_event_id FROM revocation_event WHERE revocation_event.issued_before >= %(issued_before_1)s')),
    point('a', 'd3', 'g1', 'db', 'glance', [340, 342], db('SELECT anon_1.images_created_at AS anon_1_images_created_at FROM images')),
    point('b', 'g2', null, 'wsgi', 'glance', [331, 400], wsgi('GET', '/v2/images/x')),
    point('b', 'k3', 'g2', 'wsgi', 'keystone', [335, 380], wsgi('GET', '/v3/auth/tokens')),
    point('b', 'd4', 'k3', 'db', 'keystone', [350, 351], db('SELECT 1')),
  ];
}

function span(id: string, kind: 'client' | 'server', pid: number, tid: number, protocol: string, t: [number, number], extra: Partial<ObservedSpan>): ObservedSpan {
  return {
    span_id: id, parent_span_id: null, kind, pid, tid, service: null, comm: null, protocol, method: null, path: null,
    local_port: null, remote_port: null, start_us: us(t[0]), end_us: us(t[1]), ...extra,
  };
}
const srv = (port: number, method: string, path: string) => ({ local_port: port, method, path });
const cli = (port: number, method: string, path: string) => ({ remote_port: port, method, path });
const sql = (path: string) => ({ remote_port: 3306, method: path.split(' ')[0], path });

/** Spans of a perfect capture; times a little wider than the points for servers, a little narrower for SQL. */
export function fixtureSpans(): ObservedSpan[] {
  return [
    span('T1', 'client', 99, 99, 'http', [-0.5, 225.5], cli(5000, 'POST', '/v3/auth/tokens')),
    span('K1', 'server', 10, 11, 'http', [-0.3, 225.3], { ...srv(5000, 'POST', '/v3/auth/tokens'), service: 'keystone' }),
    span('D1', 'client', 10, 11, 'mysql', [8.1, 8.9], sql('SELECT 1')),
    span('T2', 'client', 99, 99, 'http', [303.5, 345], cli(9292, 'GET', '/v2/images')),
    span('G1', 'server', 20, 21, 'http', [304, 344.6], { ...srv(9292, 'GET', '/v2/images'), service: 'glance-api' }),
    span('GK2', 'client', 20, 21, 'http', [308.4, 336.7], cli(5000, 'GET', '/v3/auth/tokens')),
    span('K2', 'server', 10, 12, 'http', [308.6, 336.5], { ...srv(5000, 'GET', '/v3/auth/tokens'), service: 'keystone' }),
    span('D2', 'client', 10, 12, 'mysql', [315.2, 318.8], sql("SELECT revocation_event.id AS revocation_event_id FROM revocation_event WHERE revocation_event.issued_before >= '2026-11-27 06:09:16'")),
    span('D3', 'client', 20, 21, 'mysql', [340.2, 341.8], sql('SELECT anon_1.images_created_at AS anon_1_images_created_at FROM images LIMIT 25')),
    span('T3', 'client', 99, 98, 'http', [329.6, 401], cli(9292, 'GET', '/v2/images/x')),
    span('G2', 'server', 20, 22, 'http', [330, 400.5], { ...srv(9292, 'GET', '/v2/images/x'), service: 'glance-api' }),
    span('GK3', 'client', 20, 22, 'http', [334.5, 380.5], cli(5000, 'GET', '/v3/auth/tokens')),
    span('K3', 'server', 10, 11, 'http', [334.7, 380.3], { ...srv(5000, 'GET', '/v3/auth/tokens'), service: 'keystone' }),
    span('D4', 'client', 10, 11, 'mysql', [350.1, 350.9], sql('SELECT 1')),
  ];
}

/** The reconstruction that gets every edge right (child -> parent). */
export function perfectParents(): Map<string, string> {
  return new Map([
    ['K1', 'T1'], ['D1', 'K1'], ['G1', 'T2'], ['GK2', 'G1'], ['K2', 'GK2'], ['D2', 'K2'], ['D3', 'G1'],
    ['G2', 'T3'], ['GK3', 'G2'], ['K3', 'GK3'], ['D4', 'K3'],
  ]);
}
