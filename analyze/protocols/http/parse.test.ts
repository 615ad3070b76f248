import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streamOf } from '../../../testing/streamOf.js';
import { parseFrames } from '../parseFrames.js';
import { classifyHttp, parseHttpFrame } from './parse.js';
import { httpSpec } from './spec.js';
import type { MessageType } from '../types.js';

const REQ = 'GET /v1/items?limit=2 HTTP/1.1\r\nHost: catalog\r\nX-Request-ID: abc\r\n\r\n';
const POST = 'POST /q HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello';
const RESP = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nX-T: 1\r\n\r\n';
const NOBODY = 'HTTP/1.1 204 No Content\r\n\r\n';
const CLOSE_DELIMITED = 'HTTP/1.0 200 OK\r\n\r\nuntil close';

// Well-formed messages: [type, wire text, expected length, check]
const wellFormed: [MessageType, string, Record<string, unknown>][] = [
  ['request', REQ, { method: 'GET', path: '/v1/items', target: '/v1/items?limit=2', bodyLength: 0 }],
  ['request', POST, { method: 'POST', path: '/q', bodyLength: 5 }],
  ['response', RESP, { status: 200, bodyLength: 2 }],
  ['response', CHUNKED, { status: 200, chunked: true }],
  ['response', NOBODY, { status: 204, bodyLength: 0 }],
  ['response', CLOSE_DELIMITED, { status: 200, version: 'HTTP/1.0', bodyLength: 11 }],
];

test('http parse: well-formed messages', () => {
  for (const [type, text, expect] of wellFormed) {
    const r = parseHttpFrame(streamOf([text]), 0, type);
    assert.equal(r.state, 'ok', text);
    if (r.state !== 'ok') continue;
    assert.equal(r.length, text.length, text);
    for (const [k, v] of Object.entries(expect)) assert.deepEqual((r.frame as unknown as Record<string, unknown>)[k], v, `${k} of ${text}`);
  }
});

test('http parse: every truncation of a well-formed message needs more data', () => {
  for (const [type, text] of wellFormed) {
    if (text === CLOSE_DELIMITED) continue; // close-delimited: any prefix is a whole message
    for (let n = 1; n < text.length; n++) {
      const r = parseHttpFrame(streamOf([text.slice(0, n)]), 0, type);
      assert.equal(r.state, 'needs-more-data', `${JSON.stringify(text.slice(0, n))}`);
    }
  }
});

test('http parse: invalid inputs', () => {
  const invalid: [MessageType, string][] = [
    ['request', 'HTTP/1.1 200 OK\r\n\r\n'],
    ['response', 'GET / HTTP/1.1\r\n\r\n'],
    ['request', '\x00\x01\x02garbage\r\n\r\n'],
    ['request', 'GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n'],
    ['response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['request', 'BREW /pot HTTP/1.1\r\n'.replace('BREW', 'brew')],
  ];
  for (const [type, text] of invalid) assert.equal(parseHttpFrame(streamOf([text]), 0, type).state, 'invalid', text);
});

test('http parse: one message over several syscalls, several messages in one syscall', () => {
  const split = streamOf(['GET /a HT', 'TP/1.1\r\nHost: x\r', '\n\r\n' + REQ + REQ.slice(0, 10), REQ.slice(10)]);
  const r = parseFrames(httpSpec, split, 'request');
  assert.deepEqual(r.frames.map((f) => f.path), ['/a', '/v1/items', '/v1/items']);
  assert.equal(r.frames[0]!.tsStartNs, 1_000_000n);
  assert.equal(r.frames[0]!.tsEndNs, 1_002_000n);
  assert.equal(r.invalidCount + r.skippedBytes + r.incompleteBytes, 0);
});

test('http parse: a body larger than the snaplen is stepped over by Content-Length', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n';
  const s = streamOf([{ text: head + 'x'.repeat(100), bytes: head.length + 10000 }, RESP]);
  const r = parseFrames(httpSpec, s, 'response');
  assert.deepEqual(r.frames.map((f) => f.length), [head.length + 10000, RESP.length]);
});

test('http parse: chunked body whose data lies in a gap', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  const s = streamOf([head, { text: '1000\r\nabc', bytes: 6 + 4096 }, '\r\n0\r\n\r\n', RESP]);
  const r = parseFrames(httpSpec, s, 'response');
  assert.equal(r.frames.length, 2);
  assert.equal(r.frames[0]!.length, head.length + 6 + 4096 + 2 + 5);
});

test('http parse: a head cut by the snaplen ends at the next message', () => {
  const big = 'POST /upload HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'y'.repeat(600) + '\r\n\r\n';
  const s = streamOf([{ text: big.slice(0, 512), bytes: big.length }, REQ]);
  const r = parseFrames(httpSpec, s, 'request');
  assert.deepEqual(r.frames.map((f) => [f.method, f.path, f.headComplete]), [
    ['POST', '/upload', false],
    ['GET', '/v1/items', true],
  ]);
});

test('http parse: capture that began mid-message resyncs at the next message', () => {
  const s = streamOf(['ody of an earlier request\r\n', REQ]);
  const r = parseFrames(httpSpec, s, 'request');
  assert.equal(r.frames.length, 1);
  assert.equal(r.invalidCount, 1);
  assert.equal(r.skippedBytes, 'ody of an earlier request\r\n'.length);
});

test('http classify', () => {
  const enc = new TextEncoder();
  assert.equal(classifyHttp(enc.encode(REQ)), 'request');
  assert.equal(classifyHttp(enc.encode(RESP)), 'response');
  assert.equal(classifyHttp(enc.encode('\x16\x03\x01 tls')), null);
});
