import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GappedStream } from '../gappedStream.js';
import type { MessageType } from '../types.js';
import {
  assertTruncationsNeedMoreData, bytes, framesOf, fullStream, fuzzFrameLoop, gappedChunk, itRejectsAll, joined, parseAll, rng, streamOf, T0_NS,
  type InvalidCase,
} from '../../../testing/protocolTestkit.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { bigResultSet, handshake, preparedStatements, queries, quit } from './testdata.js';
import type { MysqlPacket } from './types.js';

const parser = { parseFrame, findFrameBoundary };
const BOTH: MessageType[] = ['request', 'response'];
const RECORDED = { handshake, queries, bigResultSet, preparedStatements, quit };

/** A packet: 3-byte length, sequence id, payload. */
export function packet(seq: number, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? bytes(payload) : payload;
  const out = new Uint8Array(4 + body.length);
  out[0] = body.length & 0xff;
  out[1] = (body.length >> 8) & 0xff;
  out[2] = body.length >> 16;
  out[3] = seq;
  out.set(body, 4);
  return out;
}

/** Every packet of every recorded exchange, by direction (a frame of merged rows split into its packets). */
function recordedPackets(type: MessageType): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const recorded of Object.values(RECORDED)) {
    for (const frame of framesOf(parser, type, joined(recorded, type))) {
      for (let at = 0; at < frame.length; at += 4 + (frame[at]! | (frame[at + 1]! << 8) | (frame[at + 2]! << 16))) {
        out.push(frame.subarray(at, at + 4 + (frame[at]! | (frame[at + 1]! << 8) | (frame[at + 2]! << 16))));
      }
    }
  }
  return out;
}

describe('mysql parseFrame: well-formed', () => {
  const cases: Array<[string, MessageType, Uint8Array, number, number]> = [
    ['COM_QUERY', 'request', packet(0, '\x03SELECT 1'), 0, 9],
    ['COM_PING', 'request', packet(0, '\x0e'), 0, 1],
    ['COM_QUIT', 'request', packet(0, '\x01'), 0, 1],
    ['COM_INIT_DB', 'request', packet(0, '\x02nova'), 0, 5],
    ['COM_STMT_CLOSE', 'request', packet(0, '\x19\x01\x00\x00\x00'), 0, 5],
    ['handshake response (seq 1, not a command)', 'request', packet(1, '\x0d\xa2\x3a\x00'), 1, 4],
    ['OK', 'response', packet(1, '\x00\x00\x00\x02\x00\x00\x00'), 1, 7],
    ['ERR', 'response', packet(1, "\xff\x7a\x04#42S02Table 'x' doesn't exist"), 1, 32],
    ['EOF', 'response', packet(5, '\xfe\x00\x00\x02\x00'), 5, 5],
    ['empty packet', 'response', packet(3, ''), 3, 0],
  ];
  for (const [name, type, input, seq, payloadLength] of cases) {
    it(`${type} ${name}`, () => {
      const r = parseFrame(type, fullStream(input, packet(0, '\x0e')), 0);
      assert.equal(r.state, 'ok');
      if (r.state !== 'ok') return;
      assert.equal(r.length, input.length);
      assert.equal(r.frame.seq, seq);
      assert.equal(r.frame.payloadLength, payloadLength);
      // A small EOF keeps its first byte only (the stitcher reads no more of it).
      assert.deepEqual(r.frame.head, name === 'EOF' ? input.subarray(4, 5) : input.subarray(4));
      assert.equal(r.frame.hasGap, false);
    });
  }

  it('recorded exchanges parse into packets with nothing invalid', () => {
    const expected: Record<string, [number, number]> = {
      handshake: [1, 2],
      queries: [8, 17], // 7 single-packet replies + a 10-packet result set
      bigResultSet: [1, 211], // column count, 5 columns, EOF, 203 rows, EOF
      preparedStatements: [4, 13],
      quit: [1, 0],
    };
    for (const [name, recorded] of Object.entries(RECORDED)) {
      for (const [type, n] of [['request', expected[name]![0]], ['response', expected[name]![1]]] as const) {
        const s = streamOf(recorded, type);
        const out = parseAll(parser, type, s);
        assert.equal(out.invalid, 0, `${name} ${type}`);
        assert.equal(out.endPos, s.length, `${name} ${type}`);
        assert.equal(out.frames.reduce((k, f) => k + f.frameCount, 0), n, `${name} ${type}`);
      }
    }
  });

  it('rows read by one syscall are one frame; a gap, another syscall, a sequence break or a non-row packet ends it', () => {
    const rows = [packet(4, '\x01a'), packet(5, '\x01b'), packet(6, '\x01c')];
    const eof = packet(7, '\xfe\x00\x00\x22\x00');
    const one = fullStream(packet(1, '\x01'), packet(2, '\x03def'), packet(3, '\xfe\x00\x00\x22\x00'));
    assert.deepEqual(parseAll(parser, 'response', one).frames.map((f: MysqlPacket) => [f.seq, f.frameCount]), [[1, 1], [2, 1], [3, 1]]);
    const s = new GappedStream([
      gappedChunk(new Uint8Array(Buffer.concat([...rows, eof])), 27, T0_NS),
      gappedChunk(new Uint8Array(Buffer.concat([packet(8, '\x01d'), packet(9, '\x01e'), packet(11, '\x01f'), packet(12, '\x01g')])), 24, T0_NS + 1n),
      gappedChunk(new Uint8Array(Buffer.concat([packet(13, '\x01h'), packet(14, '\x01i').subarray(0, 5)])), 12, T0_NS + 2n),
    ]);
    const frames = parseAll(parser, 'response', s).frames as MysqlPacket[];
    assert.deepEqual(frames.map((f) => [f.seq, f.frameCount, f.length, f.tsStartNs - T0_NS, f.hasGap]),
      [[4, 3, 18, 0n, false], [7, 1, 9, 0n, false], [8, 2, 12, 1n, false], [11, 2, 12, 1n, false], [13, 1, 6, 2n, false], [14, 1, 6, 2n, true]]);
  });
});

describe('mysql parseFrame: every truncation needs more data', () => {
  it('all prefixes of every recorded packet, whole and split in two chunks', () => {
    let checked = 0;
    for (const type of BOTH) {
      for (const pkt of recordedPackets(type)) checked += assertTruncationsNeedMoreData(parser, type, pkt, type);
    }
    assert.ok(checked > 15000, `checked ${checked}`);
  });
});

describe('mysql parseFrame: invalid', () => {
  itRejectsAll(parser, [
    ['unknown command 0x00', 'request', fullStream(packet(0, '\x00abc'))],
    ['unknown command 0x20', 'request', fullStream(packet(0, '\x20'))],
    ['empty command packet', 'request', fullStream(packet(0, ''))],
    ['COM_PING with a payload', 'request', fullStream(packet(0, '\x0eabcd'))],
    ['COM_QUIT with a payload', 'request', fullStream(packet(0, '\x01\x00'))],
    ['COM_STMT_CLOSE too short', 'request', fullStream(packet(0, '\x19\x01\x00\x00'))],
    ['COM_STMT_EXECUTE too short', 'request', fullStream(packet(0, '\x17\x01\x00'))],
    ['a command byte that is a letter', 'request', fullStream('\x0f\x00\x00\x00GET / HTTP/1.1\r\n')],
    ['header in a gap', 'response', new GappedStream([gappedChunk(packet(1, '\x00\x00\x00\x02\x00\x00\x00'), 20)]), 11],
  ] satisfies InvalidCase[]);
  it('resyncs requests at the next command header', () => {
    const s = fullStream(bytes('garbage!'), packet(0, '\x03SELECT 1'));
    assert.equal(findFrameBoundary('request', s, 1), 8);
    const out = parseAll(parser, 'request', fullStream(bytes('\x00\x00\x00\x00\x99junk'), packet(0, '\x0e')));
    assert.equal(out.frames.length, 1);
    assert.equal(out.frames[0]!.head[0], 0x0e);
  });
  it('resyncs responses only at a syscall that starts a response', () => {
    const s = new GappedStream([
      gappedChunk(packet(1, '\x01'), 4000, T0_NS),
      gappedChunk(bytes('row bytes mid-packet'), 20, T0_NS + 1n),
      gappedChunk(packet(1, '\x00\x00\x00\x02\x00\x00\x00'), 11, T0_NS + 2n),
    ]);
    assert.equal(findFrameBoundary('response', s, 6), 4020);
  });
  it('does not resync at a short read that ends a cut result set, even if the next response follows it', () => {
    // an 8195-byte result set read as 8192 bytes (2048 captured) + 3; then the next command's response
    const next = packet(1, '\x09');
    const s = new GappedStream([
      gappedChunk(packet(1, '\x51'), 8192, T0_NS),
      gappedChunk(bytes('\x00\x21\x00'), 3, T0_NS + 1n),
      gappedChunk(next, next.length, T0_NS + 2n),
    ]);
    assert.equal(findFrameBoundary('response', s, 6), 8195);
  });
});

describe('mysql parseFrame: gaps', () => {
  it('steps over a 6000-byte row captured as a 512-byte head', () => {
    const row = new Uint8Array(6000).fill(0x61);
    row[0] = 0xfc; // length-encoded string of 5997 bytes
    row[1] = 5997 & 0xff;
    row[2] = 5997 >> 8;
    const resultSet = [packet(1, '\x01'), packet(2, '\x03def\x04nova\x01t\x01t\x01c\x01c\x0c\x21\x00\xff\xff\x00\x00\xfc\x00\x00\x00\x00\x00'),
      packet(3, '\xfe\x00\x00\x22\x00'), packet(4, row)];
    const first = new Uint8Array(Buffer.concat(resultSet));
    const s = new GappedStream([gappedChunk(first.subarray(0, 512), first.length, T0_NS), gappedChunk(packet(5, '\xfe\x00\x00\x22\x00'), 9, T0_NS + 1n)]);
    const out = parseAll(parser, 'response', s);
    assert.equal(out.invalid, 0);
    assert.deepEqual(out.frames.map((f) => [f.seq, f.length, f.hasGap]), [[1, 5, false], [2, 34, false], [3, 9, false], [4, 6004, true], [5, 9, false]]);
  });

  it('a 20 KB INSERT captured as a 512-byte head has its exact length', () => {
    const sql = 'INSERT INTO instance_extra (instance_uuid, numa_topology) VALUES (' + "'x'".repeat(6800) + ')';
    const pkt = packet(0, '\x03' + sql);
    const s = new GappedStream([gappedChunk(pkt.subarray(0, 512), pkt.length, T0_NS), gappedChunk(packet(0, '\x0e'), 5, T0_NS + 1n)]);
    const out = parseAll(parser, 'request', s);
    assert.deepEqual(out.frames.map((f: MysqlPacket) => [f.length, f.hasGap, f.head.length]), [[pkt.length, true, 508], [5, false, 1]]);
  });

  it('the recorded 13.6 KB result set with snaplen 512: the packets in the head, then nothing invalid past it', () => {
    const out = parseAll(parser, 'response', streamOf(bigResultSet, 'response', 512));
    assert.ok(out.frames.length >= 5 && out.frames.length < 20, `${out.frames.length} packets`);
    assert.ok(out.invalid <= 1);
  });
});

describe('mysql parseFrame: fuzz', () => {
  it('3000 random and mutated streams', () => {
    const next = rng(0x3306);
    const seeds = [...recordedPackets('request'), ...recordedPackets('response')];
    fuzzFrameLoop(parser, next, seeds, 3000);
  });
});

describe('mysql detect', () => {
  it('recognises the recorded greeting and handshake response', () => {
    assert.equal(detect(joined(handshake, 'response'), 'response'), true);
    assert.equal(detect(joined(handshake, 'request'), 'request'), true);
    assert.equal(detect(joined(queries, 'request'), 'request'), true); // capture began after the handshake
  });
  const negatives: Array<[MessageType, string]> = [
    ['request', 'GET / HTTP/1.1\r\n'],
    ['request', '*1\r\n$4\r\nPING\r\n'],
    ['response', '+PONG\r\n'],
    ['response', 'HTTP/1.1 200 OK\r\n'],
    ['request', 'AMQP\x00\x00\x09\x01'],
  ];
  for (const [type, head] of negatives) it(`${type} ${JSON.stringify(head)} is not MySQL`, () => assert.equal(detect(bytes(head), type), false));
});
