import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets, maskGroundTruth, redactCommandLine, redactArgv } from './redact.js';

function redacted(text: string): string {
  const b = Buffer.from(text, 'latin1');
  redactSecrets(b);
  return b.toString('latin1');
}
function masked(text: string): string {
  const b = Buffer.from(text, 'latin1');
  maskGroundTruth(b);
  return b.toString('latin1');
}

/** [input, expected]: every redaction keeps the length and the delimiters. */
const SECRET_CASES: [string, string, string][] = [
  ['token header', 'GET / HTTP/1.1\r\nX-Auth-Token: gAAAAAB1\r\nHost: a\r\n\r\n', 'GET / HTTP/1.1\r\nX-Auth-Token: ********\r\nHost: a\r\n\r\n'],
  ['subject token, any case', 'HTTP/1.1 201 Created\r\nx-subject-token: abc\r\n', 'HTTP/1.1 201 Created\r\nx-subject-token: ***\r\n'],
  ['authorization and cookie', 'Authorization: Basic Zm9v\r\nCookie: s=1\r\n', 'Authorization: **********\r\nCookie: ***\r\n'],
  ['X-Trace-HMAC is a secret too', 'X-Trace-HMAC: 0a1b\r\n', 'X-Trace-HMAC: ****\r\n'],
  ['value cut by the snaplen', 'GET / HTTP/1.1\r\nX-Auth-Token: gAAAA', 'GET / HTTP/1.1\r\nX-Auth-Token: *****'],
  ['keystone password body: everything under "password"', '{"password": {"user": {"name": "admin", "password": "labpass"}}}', '{"password": {"user": {"name": "*****", "password": "*******"}}}'],
  ['any header whose name holds a sensitive word', 'GET / HTTP/1.1\r\nX-Storage-Token: abc\r\nOpenStack-API-Secret: x y\r\n\r\n', 'GET / HTTP/1.1\r\nX-Storage-Token: ***\r\nOpenStack-API-Secret: ***\r\n\r\n'],
  ['token id in a URL path', 'GET /v3/OS-OAUTH1/access_tokens/0123456789abcdef0123456789abcdef HTTP/1.1\r\n', 'GET /v3/OS-OAUTH1/access_tokens/******************************** HTTP/1.1\r\n'],
  ['resource ids under other sensitive-named collections stay', 'DELETE /v3/users/u1/application_credentials/0123abcd HTTP/1.1\r\nGET /v3/users/u1/credentials/OS-EC2/ab12 HTTP/1.1\r\n', 'DELETE /v3/users/u1/application_credentials/0123abcd HTTP/1.1\r\nGET /v3/users/u1/credentials/OS-EC2/ab12 HTTP/1.1\r\n'],
  ['keystone token path without id stays', 'POST /v3/auth/tokens HTTP/1.1\r\n', 'POST /v3/auth/tokens HTTP/1.1\r\n'],
  ['query parameter', 'GET /x?user=a&api_key=K3Y&b=2 HTTP/1.1', 'GET /x?user=a&api_key=***&b=2 HTTP/1.1'],
  ['redis inline AUTH', 'AUTH s3cret\r\n', 'AUTH ******\r\n'],
  ['oslo.messaging escaped context', '{"oslo.message": "{\\"_context_auth_token\\": \\"gAAAA\\", \\"_msg_id\\": \\"1\\"}"}', '{"oslo.message": "{\\"_context_auth_token\\": \\"*****\\", \\"_msg_id\\": \\"1\\"}"}'],
  ['form body', 'user=bob&password=hunter2&x=1', 'user=bob&password=*******&x=1'],
  ['redis AUTH', '*2\r\n$4\r\nAUTH\r\n$7\r\nsecret1\r\n', '*2\r\n$4\r\nAUTH\r\n$7\r\n*******\r\n'],
  ['redis AUTH user pass', '*3\r\n$4\r\nAUTH\r\n$3\r\nbob\r\n$2\r\npw\r\n', '*3\r\n$4\r\nAUTH\r\n$3\r\n***\r\n$2\r\n**\r\n'],
  ['SQL password', "SET PASSWORD FOR 'u'@'%' = PASSWORD('x1')", "SET PASSWORD FOR 'u'@'%' = PASSWORD('**')"],
  ['nothing secret', 'GET /v2/images HTTP/1.1\r\nHost: a\r\n\r\n', 'GET /v2/images HTTP/1.1\r\nHost: a\r\n\r\n'],
];

for (const [name, input, expected] of SECRET_CASES) {
  test(`redactSecrets: ${name}`, () => {
    const out = redacted(input);
    assert.equal(out, expected);
    assert.equal(out.length, input.length);
  });
}

test('redactSecrets: AMQP connection.start-ok PLAIN response keeps its NULs', () => {
  const props = Buffer.alloc(4); // empty client-properties table
  const mech = Buffer.concat([Buffer.from([5]), Buffer.from('PLAIN')]);
  const resp = Buffer.from('\0guest\0guestpw');
  const respLen = Buffer.alloc(4);
  respLen.writeUInt32BE(resp.length);
  const locale = Buffer.concat([Buffer.from([5]), Buffer.from('en_US')]);
  const args = Buffer.concat([Buffer.from([0, 10, 0, 11]), props, mech, respLen, resp, locale]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(args.length);
  const frame = Buffer.concat([Buffer.from([1, 0, 0]), size, args, Buffer.from([0xce])]);
  assert.equal(redactSecrets(frame), 1, 'one value replaced');
  assert.ok(!frame.includes('guestpw'));
  assert.ok(frame.includes(Buffer.from('\0*****\0*******')));
  assert.ok(frame.includes('en_US'));
});

test('redactSecrets: MySQL handshake response auth data', () => {
  const user = Buffer.from('nova\0');
  const auth = Buffer.from([20, ...Buffer.alloc(20, 0x41)]);
  const body = Buffer.concat([Buffer.from([0x0d, 0xa6, 0x0f, 0x00]), Buffer.from([0, 0, 0, 1]), Buffer.from([33]), Buffer.alloc(23), user, auth]);
  const pkt = Buffer.concat([Buffer.from([body.length & 0xff, body.length >> 8, 0, 1]), body]);
  assert.equal(redactSecrets(pkt), 1);
  assert.ok(!pkt.includes(Buffer.alloc(20, 0x41)));
  assert.ok(pkt.includes('nova'));
});

test('maskGroundTruth: OSProfiler headers and RPC trace info, nothing else', () => {
  assert.equal(
    masked('GET / HTTP/1.1\r\nX-Trace-Info: eyJi\r\nX-Trace-HMAC: 0a\r\nX-OpenStack-Request-ID: req-1\r\n'),
    'GET / HTTP/1.1\r\nX-Trace-Info: xxxx\r\nX-Trace-HMAC: xx\r\nX-OpenStack-Request-ID: req-1\r\n',
  );
  const rpc = '{"oslo.message": "{\\"_context_trace_info\\": {\\"hmac_key\\": \\"K\\", \\"base_id\\": \\"b\\"}, \\"_msg_id\\": \\"m1\\"}"}';
  const out = masked(rpc);
  assert.equal(out.length, rpc.length);
  assert.ok(!/hmac_key|base_id|\\"K\\"/.test(out));
  assert.ok(out.includes('\\"_msg_id\\": \\"m1\\"'), 'ids that are not ground truth stay');
  assert.equal(masked('{"base_id": "abc", "parent_id": "def", "name": "wsgi-start"}'), '{"base_id": "xxx", "parent_id": "xxx", "name": "wsgi-start"}');
  assert.equal(
    masked('*3\r\n$4\r\nLPUSH\r\n$51\r\nosprofiler_opt:0c8d1a2e-1b2c-4d5e-8f90-123456789abc\r\n'),
    '*3\r\n$4\r\nLPUSH\r\n$51\r\nosprofiler_opt:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n',
  );
});

test('redactCommandLine: flags, header arguments and URL passwords', () => {
  assert.equal(redactCommandLine('openstack --os-password labpass server list'), 'openstack --os-password ******* server list');
  assert.equal(redactCommandLine('nova-manage cell_v2 create_cell --transport-url rabbit://openstack:labpass@127.0.0.1:5672/'), 'nova-manage cell_v2 create_cell --transport-url rabbit://openstack:*******@127.0.0.1:5672/');
  assert.equal(redactCommandLine('curl -H X-Auth-Token: abc http://x'), 'curl -H X-Auth-Token: *** http://x');
  assert.equal(redactCommandLine('uwsgi --http-socket 127.0.0.1:5000'), 'uwsgi --http-socket 127.0.0.1:5000');
});

test('redactArgv: the recorded command keeps its arguments, secrets replaced', () => {
  assert.deepEqual(redactArgv(['openstack', '--os-password', 'labpass', '--os-token=abc', 'server', 'list']), ['openstack', '--os-password', '*******', '--os-token=***', 'server', 'list']);
});
