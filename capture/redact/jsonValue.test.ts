import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactOne, redactStream, splits } from '../../testing/redactTestkit.js';

const FERNET = 'gAAAAABrCUVmdbQHyT70K_iC_eJSJaYhkH5ZZoJOnG3J8Z-NM1LO8Tw5VI27kynPHZ6-vBiGVrZO9sIfgkxXTq1IKyMMlX50GOkQLg6lUQCjlDASmz72wKzSjL4u5BTVQU45Z3JKjmATyKZkX56Yky9SGnRsJPxKIQ';
const stars = (s: string) => '*'.repeat(s.length);

/** [shape, input, expected]: values under sensitive keys, whatever their JSON type and escape level. */
const CASES: [string, string, string][] = [
  ['string', '{"password": "hunter2", "user": "bob"}', '{"password": "*******", "user": "bob"}'],
  ['number', '{"pin_password": 123456, "n": 1}', '{"pin_password": 999999, "n": 1}'],
  ['negative float with exponent', '{"secret": -12.5e3, "n": 1}', '{"secret": -99.9e9, "n": 1}'],
  ['object (a token object with the secret as its id)', `{"token": {"id": "${FERNET}", "expires_at": "2026-11-27T09:51:27Z"}, "x": 1}`,
    `{"token": {"id": "${stars(FERNET)}", "expires_at": "${stars('2026-11-27T09:51:27Z')}"}, "x": 1}`],
  ['array', '{"api_keys": ["k1", "k2", 3], "n": 4}', '{"api_keys": ["**", "**", 9], "n": 4}'],
  ['objects in an array', '{"credentials": [{"access": "AK1", "secret": "SK1"}, {"access": "AK2"}], "n": 4}',
    '{"credentials": [{"access": "***", "secret": "***"}, {"access": "***"}], "n": 4}'],
  ['nested arrays and literals kept', '{"tokens": [[1, "a"], [true, null, false]], "n": 4}', '{"tokens": [[9, "*"], [true, null, false]], "n": 4}'],
  ['null, true and empty string stay', '{"password": null, "token_expired": true, "secret": ""}', '{"password": null, "token_expired": true, "secret": ""}'],
  ['escaped quote and backslash inside the value', '{"password": "a\\"b\\\\c", "n": 1}', '{"password": "*******", "n": 1}'],
  ['unicode escapes', '{"password": "\\u00e9t\\u00e9", "n": 1}', '{"password": "*************", "n": 1}'],
  ['spaces and newlines around the colon', '{\n  "password" :\n   "x y",\n  "a": 1\n}', '{\n  "password" :\n   "***",\n  "a": 1\n}'],
  ['key names in any case and form', '{"OS_PASSWORD": "a", "client_secret": "b", "X-Auth-Token": "c", "hmac_key": "d", "name": "e"}',
    '{"OS_PASSWORD": "*", "client_secret": "*", "X-Auth-Token": "*", "hmac_key": "*", "name": "e"}'],
  ['the word as a value is not a key', '{"methods": ["password", "token"], "type": "secret"}', '{"methods": ["password", "token"], "type": "secret"}'],
  ['keystone password auth', '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "labpass"}}}}}',
    '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "*****", "domain": {"name": "*******"}, "password": "*******"}}}}}'],
  ['oslo.messaging inner JSON (escape level 1)',
    `{"oslo.version": "2.0", "oslo.message": "{\\"_context_auth_token\\": \\"${FERNET}\\", \\"_context_request_id\\": \\"req-1\\", \\"args\\": {\\"admin_password\\": \\"pw\\\\\\"x\\"}}"}`,
    `{"oslo.version": "2.0", "oslo.message": "{\\"_context_auth_token\\": \\"${stars(FERNET)}\\", \\"_context_request_id\\": \\"req-1\\", \\"args\\": {\\"admin_password\\": \\"*******\\"}}"}`],
  ['object at escape level 1', '{"m": "{\\"token\\": {\\"id\\": \\"abc\\", \\"n\\": 5}, \\"k\\": 1}"}', '{"m": "{\\"token\\": {\\"id\\": \\"***\\", \\"n\\": 9}, \\"k\\": 1}"}'],
  ['number at escape level 1', '{"m": "{\\"secret\\": 4242, \\"k\\": 1}"}', '{"m": "{\\"secret\\": 9999, \\"k\\": 1}"}'],
  ['escape level 2', '{"a": "{\\"b\\": \\"{\\\\\\"password\\\\\\": \\\\\\"pw\\\\\\"}\\"}"}', '{"a": "{\\"b\\": \\"{\\\\\\"password\\\\\\": \\\\\\"**\\\\\\"}\\"}"}'],
  ['value cut by the snaplen', '{"password": "hunt', '{"password": "****'],
  ['object cut by the snaplen', '{"token": {"id": "abc", "ex', '{"token": {"id": "***", "ex'],
];

for (const [shape, input, expected] of CASES) {
  test(`JSON, ${shape}`, () => {
    const out = redactOne(input);
    assert.equal(out, expected);
    assert.equal(out.length, input.length);
    if (!shape.includes('cut')) JSON.parse(out); // still JSON
  });
}

// A body split across syscalls at any point, or written a few bytes at a time, comes out as if written at once.
for (const [shape, input] of CASES) {
  if (shape.includes('cut')) continue;
  test(`JSON split across syscalls, ${shape}: every split gives the one-payload result`, () => {
    const whole = redactOne(input);
    for (const [how, parts] of splits(input)) assertSameRedaction(redactStream(parts), whole, how);
  });
}

/**
 * Equal, except that inside a JSON string nested in another one, a split in the middle of a run of backslashes
 * can leave up to 2^L - 1 of them unmasked (whether they belong to a quote's delimiter is only known after the
 * split, when the earlier payload is already written). A backslash carries nothing of the secret.
 */
function assertSameRedaction(actual: string, expected: string, how: string): void {
  assert.equal(actual.length, expected.length, how);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i] && !(actual[i] === '\\' && expected[i] === '*')) assert.equal(actual, expected, `${how}, at ${i}`);
  }
}

test('JSON split: a value far longer than the context (an object of 3 KB under "token") is followed to its end', () => {
  const catalog = Array.from({ length: 60 }, (_, i) => `{"url": "http://127.0.0.1:${5000 + i}/v3", "id": "${i}"}`).join(', ');
  const body = `HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{"token": {"catalog": [${catalog}], "id": "${FERNET}"}, "after": "kept"}`;
  const whole = redactOne(body);
  assert.ok(!whole.includes(FERNET.slice(6)) && whole.includes('"after": "kept"'));
  for (const size of [100, 512, 1000]) {
    const parts: string[] = [];
    for (let i = 0; i < body.length; i += size) parts.push(body.slice(i, i + size));
    assert.equal(redactStream(parts), whole, `writes of ${size} bytes`);
  }
});
