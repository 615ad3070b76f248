import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GappedStream } from '../gappedStream.js';
import { findFrameBoundary, parseFrame } from './parse.js';
import { stitch } from './stitch.js';
import { pipelines, resp2Session, resp3Session } from './testdata.js';
import { parseAll, streamOf, T0_NS, type RecordedChunk } from '../../../testing/protocolTestkit.js';

const parser = { parseFrame, findFrameBoundary };

function stitchRecorded(recorded: readonly RecordedChunk[], snaplen = Infinity) {
  const req = parseAll(parser, 'request', streamOf(recorded, 'request', snaplen)).frames;
  const resp = parseAll(parser, 'response', streamOf(recorded, 'response', snaplen)).frames;
  return stitch(req, resp);
}

describe('redis stitch', () => {
  it('pairs a redis-py session in order, with methods, keys and statuses', () => {
    const { records, errorCount } = stitchRecorded(resp2Session);
    assert.equal(errorCount, 0);
    assert.deepEqual(
      records.map((r) => [r.method, r.path, r.status]),
      [
        ['PING', null, 'ok'],
        ['SET', 'nova:compute:host1', 'ok'],
        ['GET', 'nova:compute:host1', 'ok'],
        ['GET', 'missing-key', 'ok'],
        ['INCRBY', 'counter', 'ok'],
        ['HSET', 'osprofiler:abc', 'ok'],
        ['HGETALL', 'osprofiler:abc', 'ok'],
        ['RPUSH', 'list', 'ok'],
        ['LRANGE', 'list', 'ok'],
        ['HGET', 'counter', 'error'],
      ],
    );
    for (const r of records) assert.ok(r.resp !== null && r.resp.tsEndNs >= r.req.tsStartNs);
  });

  it('pairs pipelined commands sent in one write with replies read in one read', () => {
    const { records, errorCount } = stitchRecorded(pipelines);
    assert.equal(errorCount, 0);
    assert.deepEqual(
      records.map((r) => `${r.method} ${r.resp?.kind}:${r.resp?.values[0]}`),
      ['SET simple-string:OK', 'GET bulk-string:1', 'DEL integer:1', 'MULTI simple-string:OK', 'INCRBY simple-string:QUEUED',
        'EXPIRE simple-string:QUEUED', 'EXEC array:2'],
    );
  });

  it('RESP3: skips pushed pub/sub messages, pairs subscription confirmations', () => {
    const { records, errorCount } = stitchRecorded(resp3Session);
    assert.equal(errorCount, 0);
    assert.deepEqual(
      records.map((r) => [r.method, r.path, r.resp?.kind]),
      [
        ['HELLO', null, 'map'],
        ['HGETALL', 'osprofiler:abc', 'map'],
        ['GET', 'nothere', 'null'],
        ['ZSCORE', 'z', 'double'],
        ['PING', null, 'simple-string'],
        ['SUBSCRIBE', 'nova-notify.1', 'push'],
        ['UNSUBSCRIBE', 'nova-notify.1', 'push'],
      ],
    );
  });

  it('counts replies without a command, leaves the last command open', () => {
    const resp = parseAll(parser, 'response', new GappedStream([
      { tsNs: T0_NS, tid: 1, bytes: 5, data: new TextEncoder().encode('+OK\r\n') },
      { tsNs: T0_NS + 10n, tid: 1, bytes: 4, data: new TextEncoder().encode(':1\r\n') },
    ])).frames;
    const req = parseAll(parser, 'request', new GappedStream([
      { tsNs: T0_NS + 5n, tid: 1, bytes: 14, data: new TextEncoder().encode('*1\r\n$4\r\nINCR\r\n') },
      { tsNs: T0_NS + 20n, tid: 1, bytes: 14, data: new TextEncoder().encode('*1\r\n$4\r\nPING\r\n') },
    ])).frames;
    const { records, errorCount } = stitch(req, resp);
    assert.equal(errorCount, 1);
    assert.deepEqual(records.map((r) => [r.method, r.status]), [['INCR', 'ok'], ['PING', null]]);
  });

  it('stitches the same session captured with a 16-byte snaplen without errors', () => {
    const { records, errorCount } = stitchRecorded(resp2Session, 16);
    assert.equal(records.length, 10);
    assert.equal(errorCount, 0);
  });
});

describe('redis ground truth', () => {
  it("masks the base_id in OSProfiler's osprofiler_opt:<base_id> keys", () => {
    const req = parseAll(parser, 'request', new GappedStream([
      { tsNs: T0_NS, tid: 1, bytes: 67, data: new TextEncoder().encode('*3\r\n$5\r\nLPUSH\r\n$51\r\nosprofiler_opt:b09893ad-d981-456b-a9d7-5fe6d656469c\r\n$1\r\n{\r\n') },
    ])).frames;
    const { records } = stitch(req, []);
    assert.equal(records[0]!.path, 'osprofiler_opt:' + 'x'.repeat(36));
  });
});
