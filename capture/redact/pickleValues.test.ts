import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactOne, redactStream, splits } from '../../testing/redactTestkit.js';

const FERNET = 'gAAAAABrCUSPb7DzTZHIwQTbSKdu2zT33O1OxJq2b7lIVLVcW2fy0yd2DjBzXY4S4dPqTIb3Z3zpDO_7CpIRAsq-h3zH8l0F4T2VhPpaIZhqKo4lYVX9PZ8bSeHH5vR93vbBdV7bYqDqtOu8r8KP1S4Uqv3fd2w';
const s = (n: number) => '*'.repeat(n);

/** memcached `set` / `VALUE` blocks holding what keystone and oslo.cache store: pickles (protocol 0 and 4) and JSON. */
function set(value: string): string {
  return `set 29ded4b3a933d7125692fd3df39a246aaeefb04c 1 0 ${value.length} \r\n${value}\r\n`;
}
const u8 = (n: number) => String.fromCharCode(n);
const u32 = (n: number) => String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);

const CASES: [string, string, string][] = [
  ['keystone token model, protocol 0 (token id by value shape; key by memo reference)',
    set(`ccopy_reg\n_reconstructor\np0\n(dp7\nVuser_id\np8\nVf6b233b1e0d54bb0a6d12ebca0e6e4ca\np9\nsVmethods\np31\n(lp32\nVpassword\np33\nasg12\nV${FERNET}\np85\ns.`),
    set(`ccopy_reg\n_reconstructor\np0\n(dp7\nVuser_id\np8\nVf6b233b1e0d54bb0a6d12ebca0e6e4ca\np9\nsVmethods\np31\n(lp32\nVpassword\np33\nasg12\nVgAAAAA${s(FERNET.length - 6)}\np85\ns.`)],
  ['protocol 0 dict key password', set('(dp0\nVname\np1\nVadmin\np2\nsVpassword\np3\nVlabpass\np4\ns.'), set('(dp0\nVname\np1\nVadmin\np2\nsVpassword\np3\nV*******\np4\ns.')],
  ['protocol 0 str value', set("(dp0\nS'secret'\np1\nS'abc'\np2\ns."), set("(dp0\nS'secret'\np1\nS'***'\np2\ns.")],
  ['protocol 4 SHORT_BINUNICODE + MEMOIZE', set(`\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08password\x94\x8c\x07labpass\x94u.`),
    set(`\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08password\x94\x8c\x07*******\x94u.`)],
  ['protocol 2 BINUNICODE + BINPUT', set(`\x80\x02}q\x00X\x0c\x00\x00\x00admin_secretq\x01X${u32(5)}s3cr3tq\x02s.`.replace('s3cr3t', 's3cr3')),
    set(`\x80\x02}q\x00X\x0c\x00\x00\x00admin_secretq\x01X${u32(5)}*****q\x02s.`)],
  ['protocol 4 bytes value', set(`\x80\x04}\x94\x8c\x05token\x94C${u8(4)}\x01\x02\x03\x04\x94s.`), set(`\x80\x04}\x94\x8c\x05token\x94C${u8(4)}****\x94s.`)],
  ['JSON cache value', set('{"id": "u1", "password": "labpass", "enabled": true}'), set('{"id": "u1", "password": "*******", "enabled": true}')],
  ['a non-sensitive pickle stays', set('(dp0\nVname\np1\nVadmin\np2\ns.'), set('(dp0\nVname\np1\nVadmin\np2\ns.')],
];

for (const [what, input, expected] of CASES) {
  test(`memcached value: ${what}`, () => {
    const out = redactOne(input);
    assert.equal(out, expected);
    assert.equal(out.length, input.length);
  });
  test(`memcached value split across syscalls: ${what}`, () => {
    const whole = redactOne(input);
    for (const [how, parts] of splits(input, 3)) assert.equal(redactStream(parts), whole, how);
  });
}
