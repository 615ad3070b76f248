import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GappedStream } from '../gappedStream.js';
import type { MessageType } from '../types.js';
import {
  assertTruncationsNeedMoreData, bytes, framesOf, fullStream, fuzzFrameLoop, gappedChunk, itRejectsAll, joined, namedByInput, parseAll, rng, streamOf,
  T0_NS,
} from '../../../testing/protocolTestkit.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { metaCommands, pymemcache, pythonMemcached } from './testdata.js';

const parser = { parseFrame, findFrameBoundary };
const BOTH: MessageType[] = ['request', 'response'];
const RECORDED = { pythonMemcached, pymemcache, metaCommands };

const WELL_FORMED: Array<[MessageType, string, string, string[]]> = [
  ['request', 'get k1\r\n', 'get', ['k1']],
  ['request', 'gets a b c\r\n', 'gets', ['a', 'b', 'c']],
  ['request', 'gat 60 k\r\n', 'gat', ['k']],
  ['request', 'set k 0 60 2\r\nv1\r\n', 'set', ['k']],
  ['request', 'cas k 0 0 2 5 noreply\r\nv3\r\n', 'cas', ['k']],
  ['request', 'delete k\r\n', 'delete', ['k']],
  ['request', 'incr counter 2\r\n', 'incr', ['counter']],
  ['request', 'ms k 2 T60\r\nhi\r\n', 'ms', ['k']],
  ['request', 'mn\r\n', 'mn', []],
  ['request', 'stats\r\n', 'stats', []],
  ['request', 'bogus_command\r\n', 'bogus_command', []],
  ['response', 'STORED\r\n', 'STORED', []],
  ['response', 'END\r\n', 'END', []],
  ['response', 'VALUE k 0 2\r\nv1\r\nEND\r\n', 'VALUE', ['k']],
  ['response', 'VALUE k1 0 2 5\r\nv1\r\nVALUE k2 0 0 6\r\n\r\nEND\r\n', 'VALUE', ['k1', 'k2']],
  ['response', 'STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n', 'STAT', []],
  ['response', 'VA 2 f0\r\nhi\r\n', 'VA', []],
  ['response', '42\r\n', '42', []],
  ['response', 'CLIENT_ERROR bad data chunk\r\n', 'CLIENT_ERROR', []],
];

describe('memcached parseFrame: well-formed', () => {
  for (const [type, input, command, keys] of WELL_FORMED) {
    it(`${type} ${JSON.stringify(input)}`, () => {
      const r = parseFrame(type, fullStream(input + (type === 'request' ? 'mn\r\n' : 'MN\r\n')), 0);
      assert.equal(r.state, 'ok');
      if (r.state !== 'ok') return;
      assert.equal(r.length, input.length);
      assert.equal(r.frame.command, command);
      assert.deepEqual(r.frame.keys, keys);
    });
  }
  it('recorded exchanges parse completely', () => {
    const expected: Record<string, [number, number]> = { pythonMemcached: [10, 10], pymemcache: [9, 8], metaCommands: [7, 7] };
    for (const [name, recorded] of Object.entries(RECORDED)) {
      for (const [type, n] of [['request', expected[name]![0]], ['response', expected[name]![1]]] as const) {
        const s = streamOf(recorded, type);
        const out = parseAll(parser, type, s);
        assert.equal(out.invalid, 0, `${name} ${type}`);
        assert.equal(out.endPos, s.length);
        assert.equal(out.frames.length, n, `${name} ${type}`);
      }
    }
  });
});

describe('memcached parseFrame: every truncation needs more data', () => {
  it('all prefixes of every message, whole and split in two chunks', () => {
    const messages: Array<[MessageType, Uint8Array]> = WELL_FORMED.map(([t, s]) => [t, bytes(s)]);
    for (const recorded of Object.values(RECORDED)) {
      for (const type of BOTH) for (const m of framesOf(parser, type, joined(recorded, type))) messages.push([type, m]);
    }
    let checked = 0;
    for (const [type, msg] of messages) {
      checked += assertTruncationsNeedMoreData(parser, type, msg, `${type} ${JSON.stringify(Buffer.from(msg).toString('latin1').slice(0, 40))}`);
    }
    assert.ok(checked > 8000, `checked ${checked}`);
  });
});

describe('memcached parseFrame: invalid', () => {
  itRejectsAll(parser, namedByInput([
    ['request', 'GET / HTTP/1.1\r\n'],
    ['request', 'set k 0 0 x\r\nv\r\n'],
    ['request', 'set k 0 0 2\r\nabc\r\n'],
    ['request', '\x80\x00\x00\x01'], // binary protocol
    ['request', '\r\n'],
    ['response', 'HELLO\r\n'],
    ['response', 'VALUE k 0 2\r\nv1\r\nSTORED\r\n'],
    ['response', 'VALUE k 0 99999999999\r\n'],
    ['response', 'STORED\rX'],
    ['response', '+OK\r\n'],
  ]));
  it('resyncs at the next line that opens a frame', () => {
    const out = parseAll(parser, 'response', fullStream('\x00\x01junk\r\nSTORED\r\n'));
    assert.deepEqual(out.frames.map((f) => f.command), ['STORED']);
  });
});

describe('memcached parseFrame: gaps', () => {
  it('steps over a 3000-byte value captured as a 512-byte head', () => {
    for (const type of BOTH) {
      const full = parseAll(parser, type, streamOf(pythonMemcached, type));
      const cut = parseAll(parser, type, streamOf(pythonMemcached, type, 512));
      assert.equal(cut.invalid, 0);
      assert.deepEqual(cut.frames.map((f) => f.length), full.frames.map((f) => f.length));
      // The SET's data length steps over its gap; the GET reply's END line is in the gap, so its end is guessed (rightly).
      assert.ok(cut.frames.some((f) => f.hasGap && f.lengthGuessed === (type === 'response')));
    }
  });
  it('guesses the end of a multi-value reply whose END line fell in a gap', () => {
    const reply = 'VALUE a 0 2\r\nv1\r\nVALUE b 0 2\r\nv2\r\nEND\r\n';
    const s = new GappedStream([gappedChunk(reply.slice(0, 20), reply.length, T0_NS), gappedChunk('STORED\r\n', 8, T0_NS + 1n)]);
    const out = parseAll(parser, 'response', s);
    assert.deepEqual(out.frames.map((f) => [f.command, f.length, f.lengthGuessed]), [['VALUE', reply.length, true], ['STORED', 8, false]]);
  });
});

describe('memcached parseFrame: fuzz', () => {
  it('3000 random and mutated streams', () => {
    const next = rng(11211);
    const seeds = [...WELL_FORMED.map(([, s]) => bytes(s))];
    for (const recorded of Object.values(RECORDED)) for (const type of BOTH) seeds.push(joined(recorded, type));
    fuzzFrameLoop(parser, next, seeds, 3000);
  });
});

describe('memcached detect', () => {
  it('recognises every recording', () => {
    for (const recorded of Object.values(RECORDED)) for (const type of BOTH) assert.ok(detect(joined(recorded, type), type));
  });
  for (const [type, head] of [['request', 'GET / HTTP/1.1\r\n'], ['request', '*1\r\n$4\r\nPING\r\n'], ['response', 'HTTP/1.1 200 OK\r\n'], ['response', '+OK\r\n']] as const) {
    it(`${type} ${JSON.stringify(head)} is not memcached`, () => assert.equal(detect(bytes(head), type), false));
  }
});
