/** RowBinary from JS values, read back by a real clickhouse-server: every type the store uses, at its edges. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startClickHouseServer, type ClickHouseServer } from '../testing/clickhouseServer.js';
import { clickhouseType, encoderFor, RowBinaryWriter, type StoreType } from './rowBinary.js';

let server: ClickHouseServer;
before(async () => {
  server = await startClickHouseServer();
});
after(async () => server?.stop());

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** type, values to write, what ClickHouse gives back for each (JSONEachRow: 64-bit integers as strings) */
const CASES: [StoreType, unknown[], unknown[]][] = [
  ['String', ['', "it's \\ \t\n 'quoted'", 'ü€😀', ALL_BYTES.subarray(32, 127)], ['', "it's \\ \t\n 'quoted'", 'ü€😀', Buffer.from(ALL_BYTES.subarray(32, 127)).toString('latin1')]],
  ['Int32', [0, -1, 2147483647, -2147483648], [0, -1, 2147483647, -2147483648]],
  ['Int64', [0n, -1n, 9223372036854775807n, -9223372036854775808n], ['0', '-1', '9223372036854775807', '-9223372036854775808']],
  ['UInt64', [0n, 18446744073709551615n, 1234, 2n ** 63n], ['0', '18446744073709551615', '1234', '9223372036854775808']],
  ['UInt8', [0, 255, 7n, 1], [0, 255, 7, 1]],
  ['UInt16', [0, 65535, 300, 1], [0, 65535, 300, 1]],
  ['UInt32', [0, 4294967295, 70000, 1], [0, 4294967295, 70000, 1]],
  ['Float64', [0, -1.5, 0.1, 1e300], [0, -1.5, 0.1, 1e300]],
  ['Bool', [true, false, 1, 0], [1, 0, 1, 0]],
  ['Nullable(String)', [null, 'x', undefined, ''], [null, 'x', null, '']],
  ['Nullable(UInt64)', [null, 5n, 18446744073709551615n, null], [null, '5', '18446744073709551615', null]],
  ['Array(String)', [[], ['a', 'b'], null, ['', null, 'c']], [[], ['a', 'b'], [], ['', 'c']]],
  ['Array(Int32)', [[1, -2], [], null, [2147483647]], [[1, -2], [], [], [2147483647]]],
];

test('every store type round-trips through a real server (values, NULLs, extremes, unicode)', async () => {
  const cols = CASES.map(([t], i) => `c${i} ${clickhouseType(t)}`).join(', ');
  await server.exec(`CREATE TABLE rb (k UInt8, ${cols}) ENGINE = MergeTree ORDER BY k`);
  const w = new RowBinaryWriter();
  const encoders = CASES.map(([t], i) => encoderFor(t, `c${i}`));
  for (let row = 0; row < 4; row++) {
    w.u8(row);
    CASES.forEach(([, values], i) => encoders[i]!(w, values[row]));
  }
  const r = await fetch(`${server.url}/?query=${encodeURIComponent('INSERT INTO rb FORMAT RowBinary')}`, { method: 'POST', body: new Uint8Array(w.take()) });
  assert.equal(r.status, 200, await r.text());
  const rows = await server.query<Record<string, unknown>>('SELECT * FROM rb ORDER BY k');
  CASES.forEach(([t, , want], i) => {
    assert.deepEqual(rows.map((r) => r[`c${i}`]), want, `${t}`);
  });
});

test('a payload keeps every byte value (RowBinary strings are length + bytes, no escaping)', async () => {
  await server.exec('CREATE TABLE pay (p String) ENGINE = Memory');
  const w = new RowBinaryWriter();
  encoderFor('Bytes', 'payload')(w, ALL_BYTES);
  encoderFor('Bytes', 'payload')(w, new Uint8Array(70000).fill(0xff));
  const r = await fetch(`${server.url}/?query=${encodeURIComponent('INSERT INTO pay FORMAT RowBinary')}`, { method: 'POST', body: new Uint8Array(w.take()) });
  assert.equal(r.status, 200, await r.text());
  const rows = await server.query<{ h: string; n: number }>('SELECT hex(p) AS h, length(p) AS n FROM pay ORDER BY n');
  assert.equal(rows[0]!.h, Buffer.from(ALL_BYTES).toString('hex').toUpperCase());
  assert.equal(Number(rows[1]!.n), 70000);
});

test('a value that does not fit its column is an error naming the column, not a silent coercion', () => {
  const w = new RowBinaryWriter();
  assert.throws(() => encoderFor('Int64', 'events.ts_ns')(w, null), /events\.ts_ns: NULL does not fit Int64/);
  assert.throws(() => encoderFor('String', 'spans.kind')(w, 5), /spans\.kind: number 5 does not fit String/);
  assert.throws(() => encoderFor('UInt64', 'x')(w, 1.5), /x: number 1.5 does not fit UInt64/);
});
