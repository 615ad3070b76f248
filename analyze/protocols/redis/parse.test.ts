import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GappedStream } from '../gappedStream.js';
import type { MessageType } from '../types.js';
import { detect, findFrameBoundary, parseFrame } from './parse.js';
import { bigValues, pipelines, resp2Session, resp3Session } from './testdata.js';
import {
  assertTruncationsNeedMoreData, bytes, framesOf, fullStream, fuzzFrameLoop, gappedChunk, itRejectsAll, joined, namedByInput, parseAll, rng, streamOf,
  T0_NS, type RecordedChunk,
} from '../../../testing/protocolTestkit.js';
import type { RedisFrame } from './types.js';

const parser = { parseFrame, findFrameBoundary };
const BOTH: MessageType[] = ['request', 'response'];

interface WellFormed {
  input: string;
  kind: RedisFrame['kind'];
  values: string[];
  count?: number | null;
  types?: MessageType[];
}

// (1) Well-formed values, after Pixie's redis/parse_test.cc.
const WELL_FORMED: WellFormed[] = [
  { input: '+OK\r\n', kind: 'simple-string', values: ['OK'], types: ['response'] },
  { input: '-Error message\r\n', kind: 'error', values: ['Error message'], types: ['response'] },
  { input: ':-42\r\n', kind: 'integer', values: ['-42'], types: ['response'] },
  { input: '$11\r\nbulk string\r\n', kind: 'bulk-string', values: ['bulk string'], types: ['response'] },
  { input: '$0\r\n\r\n', kind: 'bulk-string', values: [''], types: ['response'] },
  { input: '$-1\r\n', kind: 'null', values: [''], types: ['response'] },
  { input: '*3\r\n+OK\r\n-Error message\r\n$11\r\nbulk string\r\n', kind: 'array', values: ['OK', 'Error message', 'bulk string'], count: 3, types: ['response'] },
  { input: '*1\r\n$-1\r\n', kind: 'array', values: [''], count: 1, types: ['response'] },
  { input: '*-1\r\n', kind: 'null', values: [], count: -1, types: ['response'] },
  { input: '*0\r\n', kind: 'array', values: [], count: 0 },
  { input: '*2\r\n*1\r\n:1\r\n$1\r\nx\r\n', kind: 'array', values: ['[...]', 'x'], count: 2, types: ['response'] },
  { input: '*3\r\n$6\r\nappend\r\n$3\r\nfoo\r\n$3\r\nbar\r\n', kind: 'array', values: ['append', 'foo', 'bar'], count: 3 },
  { input: '*4\r\n$5\r\nlpush\r\n$3\r\nfoo\r\n$4\r\nbar0\r\n$4\r\nbar1\r\n', kind: 'array', values: ['lpush', 'foo', 'bar0', 'bar1'], count: 4 },
  { input: 'PING\r\n', kind: 'inline', values: ['PING'], types: ['request'] },
  { input: 'set  k v\n', kind: 'inline', values: ['set', 'k', 'v'], types: ['request'] },
  { input: '*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n', kind: 'array', values: ['AUTH', '<redacted>'], count: 2, types: ['request'] },
  // RESP3
  { input: '_\r\n', kind: 'null', values: [''], types: ['response'] },
  { input: ',1.5\r\n', kind: 'double', values: ['1.5'], types: ['response'] },
  { input: '#t\r\n', kind: 'boolean', values: ['t'], types: ['response'] },
  { input: '(3492890328409238509324850943850943825024385\r\n', kind: 'big-number', values: ['3492890328409238509324850943850943825024385'], types: ['response'] },
  { input: '!21\r\nSYNTAX invalid syntax\r\n', kind: 'bulk-error', values: ['SYNTAX invalid syntax'], types: ['response'] },
  { input: '=15\r\ntxt:Some string\r\n', kind: 'verbatim-string', values: ['txt:Some string'], types: ['response'] },
  { input: '%1\r\n+key\r\n:1\r\n', kind: 'map', values: ['key', '1'], count: 2, types: ['response'] },
  { input: '~2\r\n+a\r\n+b\r\n', kind: 'set', values: ['a', 'b'], count: 2, types: ['response'] },
  { input: '>3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$4\r\ntest\r\n', kind: 'push', values: ['message', 'foo', 'test'], count: 3, types: ['response'] },
  { input: '|1\r\n+ttl\r\n:3600\r\n:42\r\n', kind: 'integer', values: ['42'], types: ['response'] },
];

/** Every message of a recorded exchange, one per complete frame (found by parsing the joined stream). */
function recordedMessages(recorded: readonly RecordedChunk[], type: MessageType): Uint8Array[] {
  return framesOf(parser, type, joined(recorded, type));
}

const RECORDED = { resp2Session, pipelines, bigValues, resp3Session };

describe('redis parseFrame: well-formed', () => {
  for (const c of WELL_FORMED) {
    for (const type of c.types ?? BOTH) {
      it(`${type} ${JSON.stringify(c.input)}`, () => {
        const r = parseFrame(type, fullStream(c.input + '*1\r\n$4\r\nPING\r\n'), 0);
        assert.equal(r.state, 'ok');
        if (r.state !== 'ok') return;
        assert.equal(r.length, c.input.length);
        assert.equal(r.frame.kind, c.kind);
        assert.deepEqual(r.frame.values, c.values);
        assert.equal(r.frame.count, c.count ?? null);
        assert.equal(r.frame.hasGap, false);
        assert.equal(r.frame.lengthGuessed, false);
      });
    }
  }
});

describe('redis parseFrame: recorded exchanges', () => {
  // Frames per direction, counted from the recording script's calls.
  const expected: Record<keyof typeof RECORDED, [number, number]> = {
    resp2Session: [10, 10],
    pipelines: [7, 7], // SET GET DEL | MULTI INCRBY EXPIRE EXEC
    bigValues: [4, 4],
    resp3Session: [7, 8], // the pushed message has no request
  };
  for (const [name, recorded] of Object.entries(RECORDED)) {
    it(`${name}: every byte parses into frames, none invalid`, () => {
      const [nReq, nResp] = expected[name as keyof typeof RECORDED];
      for (const [type, n] of [['request', nReq], ['response', nResp]] as const) {
        const s = streamOf(recorded, type);
        const out = parseAll(parser, type, s);
        assert.equal(out.invalid, 0, `${type} invalid`);
        assert.equal(out.needsMoreData, false);
        assert.equal(out.endPos, s.length);
        assert.equal(out.frames.length, n, `${type} frames`);
      }
    });
  }
  it('reads commands and keys of resp2Session', () => {
    const out = parseAll(parser, 'request', streamOf(resp2Session, 'request'));
    assert.deepEqual(
      out.frames.map((f) => f.values.slice(0, 2).join(' ')),
      ['PING', 'SET nova:compute:host1', 'GET nova:compute:host1', 'GET missing-key', 'INCRBY counter', 'HSET osprofiler:abc',
        'HGETALL osprofiler:abc', 'RPUSH list', 'LRANGE list', 'HGET counter'],
    );
  });
});

// (2) Every truncation of every well-formed message: needs-more-data, nothing consumed.
describe('redis parseFrame: every truncation needs more data', () => {
  const cases: Array<[string, MessageType, Uint8Array]> = [];
  for (const c of WELL_FORMED) for (const type of c.types ?? BOTH) cases.push([JSON.stringify(c.input), type, bytes(c.input)]);
  for (const [name, recorded] of Object.entries(RECORDED)) {
    for (const type of BOTH) recordedMessages(recorded, type).forEach((m, i) => cases.push([`${name} ${type} #${i}`, type, m]));
  }
  it(`${cases.length} messages, all prefixes (whole and split over two chunks)`, () => {
    let checked = 0;
    for (const [name, type, msg] of cases) checked += assertTruncationsNeedMoreData(parser, type, msg, name);
    assert.ok(checked > 5000, `checked ${checked}`);
  });
});

// (3) Invalid inputs.
const INVALID: Array<[MessageType, string]> = [
  ['response', 'a'],
  ['response', 'b\r\n'],
  ['response', '$1\r\nabc'],
  ['response', '$-2\r\n'],
  ['response', '*-2\r\n'],
  ['response', '$12345678901234567\r\n'],
  ['response', ':12a\r\n'],
  ['response', '#x\r\n'],
  ['response', '_x\r\n'],
  ['response', '+OK\rX'],
  ['response', '+OK\n'],
  ['response', '$1000000000\r\n'],
  ['request', '+OK\r\n'],
  ['request', ':1\r\n'],
  ['request', '*1\r\n:1\r\n'],
  ['request', '*2\r\n$3\r\nGET\r\n*1\r\n$1\r\nk\r\n'],
  ['request', '\x16\x03\x01\x02\x00'], // a TLS ClientHello
  ['request', 'GET\x00/ HTTP/1.1\r\n'],
];
describe('redis parseFrame: invalid', () => {
  itRejectsAll(parser, namedByInput(INVALID));
  it('resyncs at the next line start that opens a value', () => {
    const s = fullStream('garbage\x00\r\n*1\r\n$4\r\nPING\r\n');
    assert.equal(findFrameBoundary('request', s, 1), 10);
    const out = parseAll(parser, 'response', fullStream('\x00\x01junk\r\n+OK\r\n'));
    assert.equal(out.frames.length, 1);
    assert.deepEqual(out.frames[0]!.values, ['OK']);
  });
});

// (4) Gaps: large messages captured as a 512-byte head.
describe('redis parseFrame: gaps', () => {
  it('steps over the uncaptured tail of a 3000-byte SET and GET reply (snaplen 512)', () => {
    for (const type of BOTH) {
      const full = parseAll(parser, type, streamOf(bigValues, type));
      const gapped = parseAll(parser, type, streamOf(bigValues, type, 512));
      assert.equal(gapped.invalid, 0);
      assert.deepEqual(gapped.frames.map((f) => f.length), full.frames.map((f) => f.length));
      assert.ok(gapped.frames.some((f) => f.hasGap && !f.lengthGuessed), `${type}: a frame with a gap`);
    }
    const set = parseAll(parser, 'request', streamOf(bigValues, 'request', 512)).frames[0]!;
    assert.equal(set.length, 3031);
    assert.deepEqual(set.values.slice(0, 2), ['SET', 'big']);
    assert.equal(set.values[2]!.length, 256); // the captured head, capped
  });

  it('a 1 MB bulk reply with a 512-byte head has its exact length', () => {
    const head = '$1048576\r\n' + 'v'.repeat(502);
    const s = new GappedStream([gappedChunk(head, 1048576 + 12, T0_NS), gappedChunk('+OK\r\n', 5, T0_NS + 1000n)]);
    const out = parseAll(parser, 'response', s);
    assert.deepEqual(out.frames.map((f) => [f.kind, f.length, f.hasGap]), [['bulk-string', 1048588, true], ['simple-string', 5, false]]);
  });

  it('guesses the end at the syscall end when a gap hides an element header', () => {
    // LRANGE reply of 10 elements captured as 20 bytes: the second element's header is not captured.
    const lrange = recordedMessages(resp2Session, 'response')[8]!;
    assert.equal(lrange.length, 125);
    const s = new GappedStream([gappedChunk(lrange.subarray(0, 20), lrange.length), gappedChunk(':1\r\n', 4, T0_NS + 5n)]);
    const out = parseAll(parser, 'response', s);
    assert.equal(out.frames.length, 2);
    assert.equal(out.frames[0]!.length, 125);
    assert.equal(out.frames[0]!.lengthGuessed, true);
    assert.deepEqual(out.frames[0]!.values, ['item-0']);
    assert.equal(out.frames[1]!.kind, 'integer');
  });

  it('a frame whose first byte is in a gap is invalid, and resync finds the next syscall', () => {
    const s = new GappedStream([gappedChunk('+OK\r\n', 100), gappedChunk('+OK\r\n', 5, T0_NS + 1n)]);
    assert.equal(parseFrame('response', s, 5).state, 'invalid');
    assert.equal(findFrameBoundary('response', s, 6), 100);
  });
});

// (5) Fuzz: random and mutated inputs, random snaplens and chunking. Never throw, always progress.
describe('redis parseFrame: fuzz', () => {
  it('3000 random and mutated streams', () => {
    const next = rng(0x5eed);
    const seeds = [...WELL_FORMED.map((c) => bytes(c.input))];
    for (const recorded of Object.values(RECORDED)) for (const type of BOTH) seeds.push(joined(recorded, type));
    fuzzFrameLoop(parser, next, seeds, 3000);
  });
});

describe('redis detect', () => {
  const cases: Array<[MessageType, string, boolean]> = [
    ['request', '*1\r\n$4\r\nPING\r\n', true],
    ['request', '*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n', true],
    ['request', 'PING\r\n', true],
    ['request', 'GET / HTTP/1.1\r\nHost: x\r\n', false],
    ['request', '\x00\x00\x00\x01', false],
    ['response', '+PONG\r\n', true],
    ['response', '%7\r\n$6\r\nserver\r\n', true],
    ['response', 'HTTP/1.1 200 OK\r\n', false],
  ];
  for (const [type, head, want] of cases) {
    it(`${type} ${JSON.stringify(head)} -> ${want}`, () => assert.equal(detect(bytes(head), type), want));
  }
  it('recognises the first request and response of every recording', () => {
    for (const recorded of Object.values(RECORDED)) {
      for (const type of BOTH) assert.ok(detect(joined(recorded, type), type));
    }
  });
});
