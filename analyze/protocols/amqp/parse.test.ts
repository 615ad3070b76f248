import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GappedStream } from '../gappedStream.js';
import type { MessageType } from '../types.js';
import {
  assertTruncationsNeedMoreData, bytes, fullStream, fuzzFrameLoop, gappedChunk, itRejectsAll, joined, parseAll, rng, streamOf, T0_NS,
  type InvalidCase,
} from '../../../testing/protocolTestkit.js';
import { detect, findFrameBoundary, parseFrame, PROTOCOL_HEADER } from './parse.js';
import { connection0, connection1, connection2 } from './testdata.js';
import type { AmqpFrame, ContentHeaderFrame, MethodFrame } from './types.js';

const parser = { parseFrame, findFrameBoundary };
const BOTH: MessageType[] = ['request', 'response'];
const RECORDED = { connection0, connection1, connection2 };

/** A frame: type, channel, size, payload, 0xCE. */
export function frame(type: number, channel: number, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? bytes(payload) : payload;
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, type);
  view.setUint16(1, channel);
  view.setUint32(3, body.length);
  out.set(body, 7);
  out[7 + body.length] = 0xce;
  return out;
}
const u16 = (n: number): string => String.fromCharCode(n >> 8, n & 0xff);
const u32 = (n: number): string => u16(n >>> 16) + u16(n & 0xffff);
const shortstr = (s: string): string => String.fromCharCode(s.length) + s;

/** Every frame of every recording, by direction. */
function recordedFrames(type: MessageType): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const recorded of Object.values(RECORDED)) {
    const all = joined(recorded, type);
    let pos = 0;
    while (pos < all.length) {
      const r = parseFrame(type, fullStream(all), pos);
      assert.ok(r.state === 'ok' || r.state === 'ignored');
      out.push(all.subarray(pos, pos + r.length));
      pos += r.length;
    }
  }
  return out;
}

describe('amqp parseFrame: well-formed', () => {
  it('recorded oslo.messaging connections: every frame parses, heartbeats ignored', () => {
    // [frames, heartbeats] per direction, from the dump of the recording.
    const expected: Record<string, [number, number, number, number]> = {
      connection0: [24, 1, 32, 3], // the RPC server's consumer connection: 4 deliveries
      connection1: [12, 1, 17, 3], // the caller's reply-queue connection: 3 reply deliveries
      connection2: [30, 1, 15, 2], // the shared publisher: 4 calls/casts + 3 replies, publisher confirms
    };
    for (const [name, recorded] of Object.entries(RECORDED)) {
      const [req, reqHb, resp, respHb] = expected[name]!;
      for (const [type, n, hb] of [['request', req, reqHb], ['response', resp, respHb]] as const) {
        const s = streamOf(recorded, type);
        const out = parseAll(parser, type, s);
        assert.equal(out.invalid, 0, `${name} ${type}`);
        assert.equal(out.endPos, s.length);
        assert.deepEqual([out.frames.length, out.ignored], [n, hb], `${name} ${type}`);
      }
    }
  });

  it('decodes the publish of an RPC call and its content header', () => {
    const frames = parseAll(parser, 'request', streamOf(connection2, 'request')).frames;
    assert.equal(frames[0]!.kind, 'protocol-header');
    const publish = frames.find((f): f is MethodFrame => f.kind === 'method' && f.name === 'basic.publish')!;
    assert.deepEqual(publish.args, { exchange: 'openstack', routingKey: 'conductor', mandatory: false });
    const header = frames[frames.indexOf(publish) + 1] as ContentHeaderFrame;
    assert.equal(header.kind, 'content-header');
    assert.deepEqual(header.properties, { contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, deliveryMode: 2, priority: 0, expiration: '10000' });
    assert.deepEqual(
      frames.filter((f): f is MethodFrame => f.kind === 'method').map((f) => f.name).slice(0, 7),
      ['connection.start-ok', 'connection.tune-ok', 'connection.open', 'channel.open', 'exchange.declare', 'confirm.select', 'basic.publish'],
    );
  });

  it('decodes a delivery', () => {
    const frames = parseAll(parser, 'response', streamOf(connection0, 'response')).frames;
    const deliver = frames.find((f): f is MethodFrame => f.kind === 'method' && f.name === 'basic.deliver')!;
    assert.equal(deliver.args.exchange, 'openstack');
    assert.equal(deliver.args.routingKey, 'conductor');
    assert.equal(deliver.args.deliveryTag, 1);
    assert.equal(deliver.args.redelivered, false);
    assert.match(deliver.args.consumerTag ?? '', /^\d+$/);
  });

  it('decodes every basic property and a headers table', () => {
    const table = shortstr('x-request') + 'S' + u32(5) + 'req-1' + shortstr('retries') + 'I' + u32(3) + shortstr('flag') + 't\x01';
    const props = shortstr('application/json') + shortstr('utf-8') + u32(table.length) + table + '\x02' + '\x05' +
      shortstr('corr-1') + shortstr('reply_abc') + shortstr('60000') + shortstr('msg-1') + u32(0) + u32(1_790_000_000) +
      shortstr('type-1') + shortstr('guest') + shortstr('nova') ;
    const payload = u16(60) + u16(0) + u32(0) + u32(42) + u16(0xfff8) + props;
    const r = parseFrame('request', fullStream(frame(2, 1, payload)), 0);
    assert.equal(r.state, 'ok');
    if (r.state !== 'ok' || r.frame.kind !== 'content-header') return;
    assert.equal(r.frame.bodySize, 42);
    assert.deepEqual(r.frame.properties, {
      contentType: 'application/json', contentEncoding: 'utf-8', headers: { 'x-request': 'req-1', retries: 3, flag: true },
      deliveryMode: 2, priority: 5, correlationId: 'corr-1', replyTo: 'reply_abc', expiration: '60000', messageId: 'msg-1',
      timestamp: 1_790_000_000, type: 'type-1', userId: 'guest', appId: 'nova',
    });
  });

  it('a heartbeat is ignored, the protocol header is a frame', () => {
    assert.deepEqual(parseFrame('response', fullStream(frame(8, 0, '')), 0), { state: 'ignored', length: 8 });
    const r = parseFrame('request', fullStream(PROTOCOL_HEADER), 0);
    assert.equal(r.state === 'ok' && r.frame.kind, 'protocol-header');
  });
});

describe('amqp parseFrame: every truncation needs more data', () => {
  it('all prefixes of every recorded frame, whole and split in two chunks', () => {
    let checked = 0;
    for (const type of BOTH) {
      for (const f of recordedFrames(type)) checked += assertTruncationsNeedMoreData(parser, type, f, type);
    }
    assert.ok(checked > 15000, `checked ${checked}`);
  });
});

describe('amqp parseFrame: invalid', () => {
  itRejectsAll(parser, [
    ['unknown frame type 9', 'response', frame(9, 0, 'x')],
    ['frame-end is not 0xCE', 'response', (() => { const f = frame(1, 0, u16(10) + u16(10)); f[f.length - 1] = 0; return f; })()],
    ['heartbeat with a payload', 'response', frame(8, 0, 'x')],
    ['heartbeat on channel 1', 'response', frame(8, 1, '')],
    ['method frame shorter than class+method', 'response', frame(1, 0, '\x00\x0a')],
    ['content header shorter than 14 bytes', 'request', frame(2, 1, '\x00\x3c')],
    ['frame of 2 GiB', 'response', bytes('\x03\x00\x01\x80\x00\x00\x00')],
    ['AMQP 0-8 protocol header', 'request', bytes('AMQP\x01\x01\x08\x00')],
    ['HTTP', 'request', bytes('GET / HTTP/1.1\r\n')],
    ['TLS', 'response', bytes('\x16\x03\x03\x00\x40')],
  ] satisfies InvalidCase[]);

  it('resyncs at the next plausible frame', () => {
    const good = frame(1, 1, u16(60) + u16(80) + u32(0) + u32(7) + '\x00');
    const s = fullStream(bytes('garbage\x01\x02'), good);
    assert.equal(findFrameBoundary('response', s, 1), 9);
    const out = parseAll(parser, 'response', s);
    assert.equal(out.frames.length, 1);
    assert.equal((out.frames[0] as MethodFrame).name, 'basic.ack');
  });
});

describe('amqp parseFrame: gaps', () => {
  it('steps over a 200 KB body frame captured as a 512-byte head', () => {
    const body = new Uint8Array(200_000).fill(0x61);
    const big = frame(3, 1, body);
    const ack = frame(1, 1, u16(60) + u16(80) + u32(0) + u32(7) + '\x00');
    const s = new GappedStream([gappedChunk(big.subarray(0, 512), big.length, T0_NS), gappedChunk(ack, ack.length, T0_NS + 1n)]);
    const out = parseAll(parser, 'response', s);
    assert.deepEqual(out.frames.map((f: AmqpFrame) => [f.kind, f.length, f.hasGap]), [['body', 200_008, true], ['method', ack.length, false]]);
    assert.equal(out.frames[0]!.kind === 'body' && out.frames[0]!.head.length, 505);
  });

  it('recordings with a 512-byte and a 64-byte snaplen keep every frame boundary', () => {
    for (const snaplen of [512, 64]) {
      for (const [name, recorded] of Object.entries(RECORDED)) {
        for (const type of BOTH) {
          const full = parseAll(parser, type, streamOf(recorded, type));
          const cut = parseAll(parser, type, streamOf(recorded, type, snaplen));
          const starts = new Set(full.frames.map((f) => f.startPos));
          assert.ok(cut.frames.every((f) => starts.has(f.startPos)), `${name} ${type} ${snaplen}: a frame at a wrong position`);
          if (snaplen === 512) assert.equal(cut.frames.length, full.frames.length, `${name} ${type}`);
        }
      }
    }
  });

  it('a frame header inside a gap is invalid; resync lands on the next syscall', () => {
    const ack = frame(1, 1, u16(60) + u16(80) + u32(0) + u32(7) + '\x00');
    const s = new GappedStream([gappedChunk(ack, 100, T0_NS), gappedChunk(ack, ack.length, T0_NS + 1n)]);
    assert.equal(parseFrame('response', s, ack.length).state, 'invalid');
    assert.equal(findFrameBoundary('response', s, ack.length + 1), 100);
  });
});

describe('amqp parseFrame: fuzz', () => {
  it('3000 random and mutated streams', () => {
    const next = rng(0x5672);
    const seeds = [...recordedFrames('request'), ...recordedFrames('response')];
    // Some mutated frames are followed by a whole one.
    fuzzFrameLoop(parser, next, seeds, 3000, (base) =>
      next() < 0.3 ? new Uint8Array(Buffer.concat([base, seeds[Math.floor(next() * seeds.length)]!])) : base,
    );
  });
});

describe('amqp detect', () => {
  it('protocol header (client) and connection.start (broker) of the recordings', () => {
    for (const recorded of Object.values(RECORDED)) {
      assert.equal(detect(joined(recorded, 'request'), 'request'), true);
      assert.equal(detect(joined(recorded, 'response'), 'response'), true);
    }
  });
  for (const [type, head] of [['request', 'GET / HTTP/1.1\r\n'], ['response', '+PONG\r\n'], ['request', '*1\r\n$4\r\nPING\r\n'], ['response', '\x01\x00\x00\x00\x00\x00\x10\x00\x3c\x00\x28']] as const) {
    it(`${type} ${JSON.stringify(head)} is not AMQP`, () => assert.equal(detect(bytes(head), type), false));
  }
});
