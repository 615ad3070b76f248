/**
 * The four middleware ProtocolSpecs as the analysis uses them (registry.ts, parseFrames.ts):
 * - the registry tries every protocol's classify on the first chunks of a connection, in both directions, so a
 *   classifier must not claim a chunk of another protocol (checked on every recorded chunk and a few HTTP heads);
 * - the shared frame loop plus spec.stitch turn every recording, full or cut to a 512-byte snaplen, into records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amqpSpec } from '../amqp/spec.js';
import * as amqpData from '../amqp/testdata.js';
import { memcachedSpec } from '../memcached/spec.js';
import * as memcachedData from '../memcached/testdata.js';
import { mysqlSpec } from '../mysql/spec.js';
import * as mysqlData from '../mysql/testdata.js';
import { redisSpec } from './spec.js';
import * as redisData from './testdata.js';
import { stitchAll } from '../protocol.js';
import { parseFrames } from '../parseFrames.js';
import type { ProtocolSpec } from '../protocol.js';
import type { Frame } from '../types.js';
import { bytes, fromBase64, streamOf, type RecordedChunk } from '../../../testing/protocolTestkit.js';

// Erased to the common frame type, as registry.ts does.
const SPECS = [amqpSpec, redisSpec, mysqlSpec, memcachedSpec] as unknown as ProtocolSpec<Frame>[];
const RECORDINGS: Record<string, Record<string, readonly RecordedChunk[]>> = {
  amqp: amqpData,
  redis: redisData,
  mysql: mysqlData,
  memcached: memcachedData,
};
const HTTP_HEADS = [
  'GET /v2.1/servers HTTP/1.1\r\nHost: ctl:8774\r\n\r\n',
  'POST /v3/auth/tokens HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"auth": {}}',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}',
];

describe('classify across protocols', () => {
  it('no middleware classifier claims a chunk of another protocol', () => {
    let checked = 0;
    for (const [protocol, recordings] of Object.entries(RECORDINGS)) {
      for (const [name, recorded] of Object.entries(recordings)) {
        for (const [type, , b64] of recorded) {
          const head = fromBase64(b64);
          for (const spec of SPECS) {
            const claimed = spec.classify(head);
            if (claimed !== null && spec.name !== protocol)
              assert.fail(`${spec.name} claims a ${protocol} ${type} chunk of ${name}: ${JSON.stringify(Buffer.from(head.subarray(0, 40)).toString('latin1'))}`);
            checked++;
          }
        }
      }
    }
    for (const head of HTTP_HEADS) for (const spec of SPECS) assert.equal(spec.classify(bytes(head)), null, `${spec.name} claims HTTP`);
    assert.ok(checked > 500);
  });

  it('each protocol recognises the first chunk of its recordings in the right direction', () => {
    const firsts: Array<[string, RecordedChunk]> = [
      ['redis', redisData.resp2Session[0]!],
      ['mysql', mysqlData.handshake[0]!],
      ['amqp', amqpData.connection0[0]!],
      ['memcached', memcachedData.pythonMemcached[0]!],
    ];
    for (const [protocol, [type, , b64]] of firsts) {
      const spec = SPECS.find((s) => s.name === protocol)!;
      assert.equal(spec.classify(fromBase64(b64)), type, protocol);
    }
  });
});

describe('specs through the shared frame loop', () => {
  // Records per recording with the full capture; [protocol, recording, records].
  const expected: Array<[string, string, number]> = [
    ['redis', 'resp2Session', 10], ['redis', 'pipelines', 7], ['redis', 'bigValues', 4], ['redis', 'resp3Session', 7],
    ['mysql', 'handshake', 0], ['mysql', 'queries', 8], ['mysql', 'bigResultSet', 1], ['mysql', 'preparedStatements', 4], ['mysql', 'quit', 1],
    ['amqp', 'connection0', 4], ['amqp', 'connection1', 3], ['amqp', 'connection2', 7],
    ['memcached', 'pythonMemcached', 10], ['memcached', 'pymemcache', 9], ['memcached', 'metaCommands', 7],
  ];
  for (const snaplen of [Infinity, 512]) {
    it(`every recording, snaplen ${snaplen}`, () => {
      for (const [protocol, name, n] of expected) {
        const spec = SPECS.find((s) => s.name === protocol)!;
        const recorded = RECORDINGS[protocol]![name]!;
        const reqs = parseFrames(spec, streamOf(recorded, 'request', snaplen), 'request');
        const resps = parseFrames(spec, streamOf(recorded, 'response', snaplen), 'response');
        if (snaplen === Infinity) assert.deepEqual([reqs.invalidCount, resps.invalidCount, reqs.skippedBytes, resps.skippedBytes], [0, 0, 0, 0], `${protocol} ${name}`);
        // Calls for request/response protocols; messages (not control methods) for messaging ones.
        const { records, messages } = stitchAll(spec.createStitcher, reqs.frames, resps.frames);
        const content = (messages as { control?: boolean }[]).filter((m) => !m.control);
        assert.equal(records.length + content.length, n, `${protocol} ${name} snaplen ${snaplen}`);
        for (const r of records) assert.equal(r.protocol, protocol);
      }
    });
  }
});
