import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streamOf } from '../../../testing/streamOf.js';
import { parseFrames } from '../parseFrames.js';
import { httpSpec } from './spec.js';
import { stitchHttp } from './stitch.js';

const req = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`;
const resp = (code: number, extra = ''): string => `HTTP/1.1 ${code} X\r\nContent-Length: 0\r\n${extra}\r\n`;

test('http stitch: keep-alive pairs in order, ids from both sides', () => {
  // Requests at t=0,2,4 µs; responses at t=1,3 µs (time = index in the merged list).
  const reqs = parseFrames(httpSpec, streamOf([req('/a', 'X-Request-ID: r1\r\n'), req('/b'), req('/c')], 0n), 'request').frames;
  const resps = parseFrames(httpSpec, streamOf([resp(200, 'X-OpenStack-Request-ID: req-1\r\n'), resp(404)], 500n), 'response').frames;
  // Place responses between requests: req i at 1000*i, resp j at 500+1000*j.
  const r = stitchHttp(reqs, resps);
  assert.deepEqual(r.records.map((c) => [c.path, c.status]), [['/a', '200'], ['/b', '404'], ['/c', null]]);
  assert.deepEqual(r.records[0]!.ids, { 'x-request-id': ['r1'], 'x-openstack-request-id': ['req-1'] });
  assert.equal(r.errorCount, 0);
});

test('http stitch: a lost response does not shift later pairs', () => {
  const reqs = parseFrames(httpSpec, streamOf([req('/a'), req('/b'), req('/c')], 0n), 'request').frames;
  // Response for /a lost; responses after /b and /c.
  const resps = parseFrames(httpSpec, streamOf([resp(201), resp(202)], 1500n), 'response').frames;
  const r = stitchHttp(reqs, resps);
  assert.deepEqual(r.records.map((c) => [c.path, c.status]), [['/a', null], ['/b', '201'], ['/c', '202']]);
  assert.equal(r.errorCount, 1);
});

test('http stitch: a response with no request is counted', () => {
  const resps = parseFrames(httpSpec, streamOf([resp(200)], 0n), 'response').frames;
  const r = stitchHttp([], resps);
  assert.equal(r.records.length, 0);
  assert.equal(r.errorCount, 1);
});
