import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAll, streamOf, type RecordedChunk } from '../../../testing/protocolTestkit.js';
import { findFrameBoundary, parseFrame } from './parse.js';
import { messagesOf, parseOslo } from './stitch.js';
import { connection0, connection1, connection2 } from './testdata.js';
import type { AmqpFrame, AmqpMessage } from './types.js';

const parser = { parseFrame, findFrameBoundary };
const RECORDED: Record<string, readonly RecordedChunk[]> = { connection0, connection1, connection2 };

/** One connection's two directions, framed. */
interface ConnectionFrames {
  connection: string;
  requests: readonly AmqpFrame[];
  responses: readonly AmqpFrame[];
}

/** Every message of the recorded connections, per connection in stream order (request side first). */
function messagesOfAll(connections: readonly ConnectionFrames[]): { messages: AmqpMessage[]; errorCount: number } {
  const messages: AmqpMessage[] = [];
  let errorCount = 0;
  for (const c of connections) {
    for (const [frames, type] of [[c.requests, 'request'], [c.responses, 'response']] as const) {
      const r = messagesOf(frames, c.connection, type);
      messages.push(...r.records);
      errorCount += r.errorCount;
    }
  }
  return { messages, errorCount };
}

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
    const { messages, errorCount } = messagesOfAll(framesOf());
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

  it('snaplen 512: ids past the captured body head are missing, never wrong', () => {
    const cut = messagesOfAll(framesOf(512)).messages;
    const full = messagesOfAll(framesOf()).messages;
    assert.equal(cut.length, full.length);
    for (const [i, m] of cut.entries()) {
      for (const key of ['msgId', 'uniqueId', 'requestId', 'globalRequestId', 'method'] as const) {
        const v = m.oslo?.[key] ?? null;
        if (v !== null) assert.equal(v, full[i]!.oslo?.[key], `message ${i} ${key}`);
      }
    }
    assert.ok(cut.some((m) => m.oslo?.msgId === null && full[cut.indexOf(m)]!.oslo?.msgId !== null), 'some ids were cut off');
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



describe('amqp after capture redaction and ground-truth masking', () => {
  it('parses to the same messages when every chunk went through capture/redact.ts', async () => {
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
    const plain = messagesOfAll(framesOf());
    const scrubbed = messagesOfAll(masked);
    assert.equal(scrubbed.errorCount, 0);
    const view = (m: AmqpMessage) => [m.connection, m.direction, m.exchange, m.routingKey, m.bodySize, m.oslo?.kind, m.oslo?.method, m.oslo?.msgId, m.oslo?.uniqueId, m.oslo?.requestId, m.frame.length];
    assert.deepEqual(scrubbed.messages.map(view), plain.messages.map(view));
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

