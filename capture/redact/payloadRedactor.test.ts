import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadRedactor, slotOf } from './payloadRedactor.js';
import { TRIGGERS } from './triggers.js';
import { redactOne, redactStream, splits } from '../../testing/redactTestkit.js';

const FERNET = 'gAAAAABrCUVmdbQHyT70K_iC_eJSJaYhkH5ZZoJOnG3J8Z-NM1LO8Tw5VI27kynPHZ6-vBiGVrZO9sIfgkxXTq1IKyMMlX50GOkQLg6lUQCjlDASmz72wKzSjL4u5BTVQU45Z3JKjmATyKZkX56Yky9SGnRsJPxKIQ';

/** Whole exchanges per protocol, as an application writes them; each is also split at every point. */
const EXCHANGES: [string, string][] = [
  ['HTTP login answered with a token object (headers and body in separate writes)',
    `HTTP/1.1 201 Created\r\nX-Subject-Token: ${FERNET}\r\nContent-Type: application/json\r\nContent-Length: 120\r\n\r\n{"token": {"id": "${FERNET}", "methods": ["password"], "expires_at": "2026-11-27T09:51:27Z"}}`],
  ['HTTP request with credentials in headers and a form body',
    'POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic dXNlcjpsYWJwYXNz\r\nCookie: session=abc123; theme=dark\r\n\r\nuser=admin&password=labpass&next=%2F'],
  ['AMQP basic.publish body of an oslo.messaging call', `\x03\x00\x01\x00\x00\x01\x10{"oslo.version": "2.0", "oslo.message": "{\\"_context_auth_token\\": \\"${FERNET}\\", \\"_context_user_name\\": \\"admin\\", \\"method\\": \\"get\\", \\"args\\": {\\"db_connection\\": \\"mysql+pymysql://nova:labpass@127.0.0.1/nova\\"}}"}\xce`],
  ['memcached set of a JSON value', 'set k1 0 0 56\r\n{"user": "demo", "password": "labpass", "api_key": 12345}\r\n'],
  ['Redis AUTH then a command', '*2\r\n$4\r\nAUTH\r\n$7\r\nlabpass\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n'],
];

for (const [what, text] of EXCHANGES) {
  test(`stream: ${what}: split at every point, the same as written at once`, () => {
    const whole = redactOne(text);
    assert.ok(!whole.includes(FERNET.slice(6)) && !whole.includes('labpass'), 'nothing secret left');
    for (const [how, parts] of splits(text, 4)) assert.equal(redactStream(parts), whole, how);
  });
}

test('stream: every sensitive name split between two payloads at every point, in every case, is still found', () => {
  for (const t of TRIGGERS) {
    if (t.kind !== 'name') continue;
    const word = String.fromCharCode(...t.word);
    for (const w of [word, word.toUpperCase(), word[0]!.toUpperCase() + word.slice(1)]) {
      const text = `{"id": 1, "${w}": "hunter2"}`;
      const whole = redactOne(text);
      assert.equal(whole, `{"id": 1, "${w}": "*******"}`, w);
      const at = text.indexOf(w);
      for (let k = at + 1; k < at + w.length; k++) assert.equal(redactStream([text.slice(0, k), text.slice(k)]), whole, `${w} split at ${k - at}`);
    }
  }
});

/** Feed one payload of a stream. */
function feed(r: PayloadRedactor, text: string, conn: number, dir: number, seq: number, bytes = text.length): string {
  const b = Buffer.from(text, 'latin1');
  r.redactStream(b, 0, b.length, conn, dir, bytes, seq);
  return b.toString('latin1');
}

test('stream: context belongs to one connection and one direction', () => {
  const r = new PayloadRedactor();
  assert.equal(feed(r, '{"password": ', 1, 1, 100), '{"password": ');
  assert.equal(feed(r, '"not-after-the-other-key"}', 2, 1, 900), '"not-after-the-other-key"}', 'another connection');
  assert.equal(feed(r, '"nor-in-the-other-direction"}', 1, 2, 300), '"nor-in-the-other-direction"}', 'the reply direction');
  assert.equal(feed(r, '"hunter2"}', 1, 1, 113), '"*******"}', 'the same stream, contiguous');
});

test('stream: connections whose ids share a slot of the connection cache keep their own context', () => {
  const r = new PayloadRedactor();
  // conn ids as the builder passes them (low 32 bits, unsigned), all three in one slot
  const a = 5;
  const sameSlot = (from: number) => {
    let k = from;
    while (slotOf(k | 0) !== slotOf(a)) k++;
    return k;
  };
  const [b, c] = [sameSlot(a + 1), sameSlot(0x80000000)];
  assert.equal(feed(r, '{"password": ', a, 1, 100), '{"password": ');
  assert.equal(feed(r, '{"token": ', c, 1, 50), '{"token": ');
  assert.equal(feed(r, '"not-after-the-other-key"}', b, 1, 900), '"not-after-the-other-key"}', 'another connection, same slot');
  assert.equal(feed(r, '"hunter2"}', a, 1, 113), '"*******"}', 'its own context after the slot was taken');
  r.closeConnection(b);
  assert.equal(feed(r, '"abc"}', c, 1, 60), '"***"}', 'closing another connection of the slot forgets only that one');
  r.closeConnection(c);
  assert.equal(feed(r, '"abc"}', c, 1, 66), '"abc"}', 'closed: forgotten');
});

test('stream: bytes missing between two payloads drop the context (nothing is guessed across a gap)', () => {
  const r = new PayloadRedactor();
  feed(r, '{"password": "hun', 1, 1, 100);
  assert.equal(feed(r, 'ter2", "x": 1}', 1, 1, 200), 'ter2", "x": 1}', 'sequence numbers do not join: not continued');
});

test('stream: a payload cut at the snaplen is masked to its end, and nothing is carried past the cut', () => {
  const r = new PayloadRedactor();
  assert.equal(feed(r, '{"password": "hun', 1, 1, 100, 4000), '{"password": "***');
  assert.equal(feed(r, 'next message, "x": 1', 1, 1, 4100), 'next message, "x": 1');
});

test('stream: close forgets the connection', () => {
  const r = new PayloadRedactor();
  feed(r, '{"password": ', 3, 1, 100);
  r.closeConnection(3);
  assert.equal(feed(r, '"x"}', 3, 1, 113), '"x"}');
});

test('a payload holding more trigger words than one list: a secret after the 1024th word is masked too', () => {
  // a keystone user list of 64 KiB: a password_expires_at per user, a password at the end
  const users = Array.from({ length: 1100 }, (_, i) => `{"password_expires_at": null, "id": ${i}}`).join(',');
  const text = `[${users},{"password": "hunter2secret"}]`;
  const expected = `[${users},{"password": "*************"}]`;
  assert.equal(redactOne(text), expected);
  const r = new PayloadRedactor();
  const b = Buffer.from(text, 'latin1');
  r.redactStream(b, 0, b.length, 7, 1, b.length, 1000);
  assert.equal(b.toString('latin1'), expected);
  // the same after a payload whose value continues into this one (the carried value masked first, then a full scan)
  const r2 = new PayloadRedactor();
  const first = Buffer.from('{"password": "abc', 'latin1');
  r2.redactStream(first, 0, first.length, 8, 1, first.length, 5000);
  assert.equal(first.toString('latin1'), '{"password": "***');
  const c = Buffer.from(`def", "users": ${text}}`, 'latin1');
  r2.redactStream(c, 0, c.length, 8, 1, c.length, 5000 + first.length);
  assert.equal(c.toString('latin1'), `***", "users": ${expected}}`);
});

/** The handshakes of capture/redact/handshakes.ts as the bytes a client writes. */
function handshakeFrames(): [string, Buffer, string][] {
  const props = Buffer.alloc(4);
  const mech = Buffer.concat([Buffer.from([5]), Buffer.from('PLAIN')]);
  const resp = Buffer.from('\0guest\0guestpw');
  const respLen = Buffer.alloc(4);
  respLen.writeUInt32BE(resp.length);
  const args = Buffer.concat([Buffer.from([0, 10, 0, 11]), props, mech, respLen, resp, Buffer.from([5]), Buffer.from('en_US')]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(args.length);
  const amqp = Buffer.concat([Buffer.from([1, 0, 0]), size, args, Buffer.from([0xce])]);
  const body = Buffer.concat([Buffer.from([0x0d, 0xa6, 0x0f, 0x00]), Buffer.from([0, 0, 0, 1]), Buffer.from([33]), Buffer.alloc(23), Buffer.from('nova\0'), Buffer.from([20, ...Buffer.alloc(20, 0x41)])]);
  const mysql = Buffer.concat([Buffer.from([body.length & 0xff, body.length >> 8, 0, 1]), body]);
  return [['AMQP start-ok', amqp, 'guestpw'], ['MySQL handshake response', mysql, 'A'.repeat(20)], ['inline Redis AUTH', Buffer.from('AUTH s3cret\r\n'), 's3cret'], ['inline Redis auth', Buffer.from('auth s3cret\r\n'), 's3cret']];
}

test('stream: handshakes without trigger words are masked as a payload of a stream too (alone, and after another)', () => {
  for (const [what, frame, secret] of handshakeFrames()) {
    const text = frame.toString('latin1');
    const whole = redactOne(text);
    assert.ok(!whole.includes(secret), what);
    assert.equal(redactStream([text]), whole, `${what}: first payload`);
    assert.equal(redactStream(['ping\r\n', text]).slice(6), whole, `${what}: after a payload`);
  }
  // a MySQL response packet with sequence id 1 that is no handshake stays as it is
  const ok = '\x07\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00';
  assert.equal(redactStream([ok]), ok);
});
