import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAll, streamOf, type RecordedChunk } from '../../../testing/protocolTestkit.js';
import { findFrameBoundary, parseFrame } from './parse.js';
import { matchRpc, messagesOf, parseOslo, stitch, stitchConnections, targetOf, type ConnectionFrames } from './stitch.js';
import { connection0, connection1, connection2 } from './testdata.js';
import type { AmqpMessage } from './types.js';

const parser = { parseFrame, findFrameBoundary };
const RECORDED: Record<string, readonly RecordedChunk[]> = { connection0, connection1, connection2 };

function framesOf(snaplen = Infinity): ConnectionFrames[] {
  return Object.entries(RECORDED).map(([connection, recorded]) => ({
    connection,
    requests: parseAll(parser, 'request', streamOf(recorded, 'request', snaplen)).frames,
    responses: parseAll(parser, 'response', streamOf(recorded, 'response', snaplen)).frames,
  }));
}

const MSG_PING = 'fdfae5de34394e46826e530d22f910ca';
const MSG_FAIL = 'c2e7781fc0b4437a970998be640a76c1';
const MSG_BIG_PING = 'c7a663f4e6c844a4a9cb0666974fbb67';
const REQUEST_ID = 'req-9d0e0a4a-1d3f-4c65-8a1e-1f2f3a4b5c6d';
const GLOBAL_REQUEST_ID = 'req-0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';

describe('amqp messagesOf', () => {
  it('assembles 14 messages from the three recorded connections, nothing lost', () => {
    const { messages, errorCount } = stitchConnections(framesOf());
    assert.equal(errorCount, 0);
    assert.deepEqual(
      messages.map((m) => `${m.connection} ${m.direction} ${m.oslo?.kind} ${m.oslo?.method ?? ''}`),
      [
        'connection0 deliver call ping', 'connection0 deliver cast build_instances', 'connection0 deliver call fail', 'connection0 deliver call ping',
        'connection1 deliver reply ', 'connection1 deliver reply ', 'connection1 deliver reply ',
        'connection2 publish call ping', 'connection2 publish reply ', 'connection2 publish cast build_instances', 'connection2 publish call fail',
        'connection2 publish reply ', 'connection2 publish call ping', 'connection2 publish reply ',
      ],
    );
    const big = messages.find((m) => m.direction === 'publish' && m.oslo?.msgId === MSG_BIG_PING)!;
    assert.equal(big.bodySize, 3840);
    assert.equal(big.bodyComplete, true);
    assert.equal(big.oslo?.namespace, 'compute_task');
    assert.equal(big.oslo?.version, '1.24');
    assert.equal(big.oslo?.requestId, REQUEST_ID);
    assert.equal(big.oslo?.globalRequestId, GLOBAL_REQUEST_ID);
  });

  it('counts content whose method or header was lost', () => {
    const conn = framesOf()[2]!;
    const withoutFirstHeader = conn.requests.filter((f, i) => !(f.kind === 'content-header' && i === conn.requests.findIndex((g) => g.kind === 'content-header')));
    const { records, errorCount } = messagesOf(withoutFirstHeader, 'c2');
    assert.equal(errorCount, 2); // the orphan body, and the publish cut short by the next method
    assert.equal(records.length, 7);
    assert.equal(records[0]!.bodySize, null);
  });
});

describe('amqp stitchRpc', () => {
  it('pairs each call with its reply on the caller side and on the server side', () => {
    const { records } = stitchConnections(framesOf());
    assert.deepEqual(
      records.map((r) => [r.role, r.kind, r.method, r.path, r.status, r.ids['_msg_id']?.[0] ?? null, r.req.tsStartNs <= (r.resp?.tsStartNs ?? r.req.tsStartNs)]),
      [
        ['client', 'call', 'ping', 'openstack/conductor', 'ok', MSG_PING, true],
        ['server', 'call', 'ping', 'openstack/conductor', 'ok', MSG_PING, true],
        ['client', 'cast', 'build_instances', 'openstack/conductor', null, null, true],
        ['server', 'cast', 'build_instances', 'openstack/conductor', null, null, true],
        ['client', 'call', 'fail', 'openstack/conductor', 'error', MSG_FAIL, true],
        ['server', 'call', 'fail', 'openstack/conductor', 'error', MSG_FAIL, true],
        ['client', 'call', 'ping', 'openstack/conductor', 'ok', MSG_BIG_PING, true],
        ['server', 'call', 'ping', 'openstack/conductor', 'ok', MSG_BIG_PING, true],
      ],
    );
    for (const r of records) {
      assert.deepEqual(r.ids['request_id'], [REQUEST_ID]);
      assert.deepEqual(r.ids['global_request_id'], [GLOBAL_REQUEST_ID]);
      if (r.kind === 'call') assert.equal(r.ids['_unique_id']?.length, 2); // the call's and the reply's
    }
    const client = records[0]!;
    assert.deepEqual([client.topic, client.server, client.namespace], ['conductor', null, 'compute_task']);
    assert.equal(client.request.connection, 'connection2');
    assert.equal(client.reply?.connection, 'connection1');
  });

  it('per connection (the registry stitch): calls unpaired, replies on a connection of their own left out', () => {
    const [server, replies, publisher] = framesOf();
    assert.deepEqual(stitch(replies!.requests, replies!.responses), { records: [], errorCount: 0 });
    const published = stitch(publisher!.requests, publisher!.responses);
    assert.deepEqual(published.records.map((r) => [r.role, r.kind, r.method, r.resp]), [
      ['client', 'call', 'ping', null], ['client', 'cast', 'build_instances', null], ['client', 'call', 'fail', null], ['client', 'call', 'ping', null],
    ]);
    const delivered = stitch(server!.requests, server!.responses);
    assert.deepEqual(delivered.records.map((r) => [r.role, r.kind, r.ids['_msg_id']?.[0] ?? null]), [
      ['server', 'call', MSG_PING], ['server', 'cast', null], ['server', 'call', MSG_FAIL], ['server', 'call', MSG_BIG_PING],
    ]);
  });

  it('unpaired replies are records of kind reply unless turned off', () => {
    const replies = framesOf()[1]!;
    const { records } = stitchConnections([replies]);
    assert.deepEqual(records.map((r) => [r.role, r.kind, r.method, r.status]), [
      ['client', 'reply', 'basic.deliver', 'ok'], ['client', 'reply', 'basic.deliver', 'error'], ['client', 'reply', 'basic.deliver', 'ok'],
    ]);
    assert.equal(stitchConnections([replies], { unpairedReplies: false }).records.length, 0);
  });

  it('snaplen 512: ids past the captured body head are missing, never wrong', () => {
    const { records, messages } = stitchConnections(framesOf(512));
    const full = stitchConnections(framesOf()).messages;
    for (const [i, m] of messages.entries()) {
      for (const key of ['msgId', 'uniqueId', 'requestId', 'globalRequestId', 'method'] as const) {
        const v = m.oslo?.[key] ?? null;
        if (v !== null) assert.equal(v, full[i]!.oslo?.[key], `message ${i} ${key}`);
      }
    }
    assert.equal(records.filter((r) => r.resp !== null).length, 2); // only the first ping's ids fit in 512 bytes
  });
});

describe('amqp matchRpc', () => {
  it('links each publish to its delivery through the broker by _unique_id', () => {
    const hops = matchRpc(stitchConnections(framesOf()).messages);
    assert.deepEqual(
      hops.map((h) => `${h.by} ${h.publish.connection}->${h.deliver.connection} ${h.publish.oslo?.kind}`),
      [
        '_unique_id connection2->connection0 call', '_unique_id connection2->connection1 reply', '_unique_id connection2->connection0 cast',
        '_unique_id connection2->connection0 call', '_unique_id connection2->connection1 reply', '_unique_id connection2->connection0 call',
        '_unique_id connection2->connection1 reply',
      ],
    );
  });

  it('falls back to _msg_id and kind when _unique_id was not captured', () => {
    const { messages } = stitchConnections(framesOf());
    const strip = (m: AmqpMessage): AmqpMessage => ({ ...m, oslo: { ...m.oslo!, uniqueId: null } });
    const publish = strip(messages.find((m) => m.direction === 'publish' && m.oslo?.kind === 'call')!);
    const delivers = messages.filter((m) => m.direction === 'deliver' && m.oslo?.msgId === publish.oslo!.msgId);
    assert.equal(delivers.length, 2); // the call delivered to the server, the reply delivered to the caller
    const hops = matchRpc([publish, ...delivers]);
    assert.deepEqual(hops.map((h) => [h.by, h.deliver.oslo?.kind]), [['_msg_id', 'call']]);
  });
});

describe('amqp parseOslo', () => {
  const call = String.raw`{"oslo.version": "2.0", "oslo.message": "{\"method\": \"select_destinations\", \"args\": {\"spec_obj\": {\"nova_object.name\": \"RequestSpec\"}}, \"namespace\": \"compute_task\", \"version\": \"1.25\", \"_msg_id\": \"0123456789abcdef0123456789abcdef\", \"_reply_q\": \"reply_aa\", \"_timeout\": null, \"_unique_id\": \"fedcba9876543210fedcba9876543210\", \"_context_request_id\": \"req-11111111-2222-3333-4444-555555555555\", \"_context_global_request_id\": null, \"_context_trace_info\": {\"hmac_key\": \"xxxxxxxx\", \"base_id\": \"xxxxxxxx\"}}"}`;
  it('reads a call', () => {
    assert.deepEqual(parseOslo(call, true), {
      kind: 'call', method: 'select_destinations', namespace: 'compute_task', version: '1.25', msgId: '0123456789abcdef0123456789abcdef',
      replyQ: 'reply_aa', uniqueId: 'fedcba9876543210fedcba9876543210', requestId: 'req-11111111-2222-3333-4444-555555555555',
      globalRequestId: null, failed: null, eventType: null,
    });
  });
  it('every cut of a call yields each field whole or null', () => {
    const whole = parseOslo(call, true)!;
    for (let k = 0; k < call.length; k++) {
      const cut = parseOslo(call.slice(0, k), false);
      if (cut === null) continue;
      for (const key of Object.keys(whole) as Array<keyof typeof whole>) {
        if (key === 'kind' || key === 'failed') continue;
        if (cut[key] !== null) assert.equal(cut[key], whole[key], `cut at ${k}: ${key}`);
      }
      assert.ok(cut.kind === 'call' || cut.kind === 'unknown', `cut at ${k}: ${cut.kind}`);
    }
  });
  it('replies: ok, failure, failure cut off, old unenveloped dicts, notifications, other JSON', () => {
    const reply = (inner: string): string => `{"oslo.version": "2.0", "oslo.message": "${inner.replace(/"/g, '\\"')}"}`;
    assert.equal(parseOslo(reply('{"result": {"a": 1}, "failure": null, "ending": true, "_msg_id": "ab"}'), true)?.failed, false);
    assert.equal(parseOslo(reply('{"result": null, "failure": "{\\"class\\": \\"NoValidHost\\"}", "ending": true, "_msg_id": "ab"}'), true)?.failed, true);
    assert.equal(parseOslo(reply('{"result": null, "failure": "{\\"cl').slice(0, 80), false)?.failed, true);
    assert.equal(parseOslo(reply('{"result": [1, 2, 3'), false)?.failed, false);
    assert.equal(parseOslo('{"method": "ping", "args": {}, "_msg_id": "cd"}', true)?.kind, 'call');
    const n = parseOslo(reply('{"message_id": "m1", "publisher_id": "compute.host1", "event_type": "compute.instance.update", "priority": "INFO"}'), true);
    assert.deepEqual([n?.kind, n?.eventType], ['notification', 'compute.instance.update']);
    assert.equal(parseOslo('{"id": 1}', true), null);
    assert.equal(parseOslo('not json', true), null);
  });
  it('masked _context_trace_info does not change what is read', () => {
    const unmasked = call.replace(/x{8}/g, 'deadbeef');
    assert.deepEqual(parseOslo(unmasked, true), parseOslo(call, true));
  });
});


describe('amqp targetOf', () => {
  it('topic and server from the routing key or the fanout exchange', () => {
    const { messages } = stitchConnections(framesOf());
    const call = messages.find((m) => m.oslo?.kind === 'call')!;
    assert.deepEqual(targetOf({ ...call, routingKey: 'compute.host1' }), { topic: 'compute', server: 'host1' });
    assert.deepEqual(targetOf({ ...call, exchange: 'scheduler_fanout', routingKey: 'scheduler' }), { topic: 'scheduler', server: null });
    const reply = messages.find((m) => m.oslo?.kind === 'reply')!;
    assert.deepEqual(targetOf(reply), { topic: null, server: null });
  });
});

describe('amqp after capture redaction and ground-truth masking', () => {
  it('parses to the same records when every chunk went through capture/redact.ts', async () => {
    const { maskGroundTruth, redactSecrets } = await import('../../../capture/redact.js');
    const masked = Object.entries(RECORDED).map(([connection, recorded]) => {
      const scrub = (type: 'request' | 'response') => {
        const s = streamOf(recorded, type);
        for (const c of s.chunks) {
          redactSecrets(c.data);
          maskGroundTruth(c.data);
        }
        return parseAll(parser, type, s).frames;
      };
      return { connection, requests: scrub('request'), responses: scrub('response') };
    });
    const plain = stitchConnections(framesOf());
    const scrubbed = stitchConnections(masked);
    assert.equal(scrubbed.errorCount, 0);
    const view = (r: typeof plain.records[number]) => [r.role, r.kind, r.method, r.path, r.status, r.ids, r.req.length, r.resp?.length];
    assert.deepEqual(scrubbed.records.map(view), plain.records.map(view));
    // The start-ok's SASL response was redacted, the trace info masked: the bytes did change.
    assert.notDeepEqual(masked[2]!.requests, framesOf()[2]!.requests);
  });
});

describe('amqp bodies over several frames', () => {
  it('a 300 KB body in three body frames, each captured as a 512-byte head, is one message', async () => {
    const { GappedStream } = await import('../gappedStream.js');
    const frame = (type: number, payload: Uint8Array): Uint8Array => {
      const out = new Uint8Array(8 + payload.length);
      const v = new DataView(out.buffer);
      v.setUint8(0, type);
      v.setUint16(1, 1);
      v.setUint32(3, payload.length);
      out.set(payload, 7);
      out[7 + payload.length] = 0xce;
      return out;
    };
    const publish = new Uint8Array([0, 60, 0, 40, 0, 0, 9, ...Buffer.from('openstack'), 9, ...Buffer.from('conductor'), 0]);
    const header = new Uint8Array(14);
    new DataView(header.buffer).setUint16(0, 60);
    new DataView(header.buffer).setUint32(8, 300_000);
    const body = Buffer.from(`{"oslo.version": "2.0", "oslo.message": "{\\"method\\": \\"ping\\", \\"args\\": {\\"x\\": \\"${'y'.repeat(299_900)}`);
    const parts = [body.subarray(0, 131_064), body.subarray(131_064, 262_128), Buffer.concat([body.subarray(262_128), Buffer.alloc(300_000 - body.length, 0x7d)])];
    const frames = [frame(1, publish), frame(2, header), ...parts.map((p) => frame(3, new Uint8Array(p)))];
    const chunks = frames.map((f, i) => ({ tsNs: BigInt(i), tid: 1, bytes: f.length, data: f.subarray(0, 512) }));
    const parsed = parseAll(parser, 'request', new GappedStream(chunks)).frames;
    assert.equal(parsed.length, 5);
    const { records, errorCount } = messagesOf(parsed, 'c');
    assert.equal(errorCount, 0);
    assert.equal(records.length, 1);
    const m = records[0]!;
    assert.deepEqual([m.exchange, m.routingKey, m.bodySize, m.bodyComplete, m.oslo?.method, m.oslo?.kind], ['openstack', 'conductor', 300_000, false, 'ping', 'unknown']);
    assert.equal(m.bodyHead.length, 505); // the first frame's captured head only: later heads are not contiguous
    assert.equal(m.frame.length, frames.reduce((n, f) => n + f.length, 0));
  });
});

describe('amqp matchRpc without ids', () => {
  it('snaplen 200: heads too short for any id still link every publish to its delivery by body bytes', () => {
    const key = (h: { publish: AmqpMessage; deliver: AmqpMessage }) => `${h.publish.connection}@${h.publish.frame.startPos}->${h.deliver.connection}@${h.deliver.frame.startPos}`;
    const full = matchRpc(stitchConnections(framesOf()).messages);
    const cut = matchRpc(stitchConnections(framesOf(200)).messages);
    assert.ok(cut.every((h) => h.by === 'body'));
    assert.deepEqual(cut.map(key).sort(), full.map(key).sort());
  });
  it('a body match never takes a delivery whose ids disagree', () => {
    const { messages } = stitchConnections(framesOf());
    const publish = messages.find((m) => m.direction === 'publish' && m.oslo?.kind === 'call')!;
    const deliver = messages.find((m) => m.direction === 'deliver' && m.oslo?.msgId === publish.oslo!.msgId && m.oslo?.kind === 'call')!;
    const other = { ...deliver, oslo: { ...deliver.oslo!, uniqueId: null, msgId: 'ffffffffffffffffffffffffffffffff' } };
    assert.deepEqual(matchRpc([{ ...publish, oslo: { ...publish.oslo!, uniqueId: null } }, other]), []);
  });
});
