import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadRedactor } from './payloadRedactor.js';

/** MySQL wire packets (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html). */
const packet = (seq: number, body: Buffer) => Buffer.concat([Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16, seq]), body]);
const lenenc = (s: string | null) => (s === null ? Buffer.from([0xfb]) : s.length < 251 ? Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]) : Buffer.concat([Buffer.from([0xfc, s.length & 0xff, s.length >> 8]), Buffer.from(s, 'latin1')]));
const coldef = (table: string, name: string) =>
  Buffer.concat([lenenc('def'), lenenc('keystone'), lenenc(table), lenenc(table), lenenc(name), lenenc(name), Buffer.from([0x0c, 0x21, 0, 0, 1, 0, 0, 0xfd, 0, 0, 0, 0, 0])]);
const EOF = Buffer.from([0xfe, 0, 0, 2, 0]);
const query = (sql: string) => packet(0, Buffer.concat([Buffer.from([3]), Buffer.from(sql)]));

/** A text-protocol result set: column count, definitions, EOF, rows, EOF. */
function resultSet(table: string, columns: string[], rows: (string | null)[][]): Buffer {
  let seq = 1;
  const packets = [packet(seq++, Buffer.from([columns.length]))];
  for (const c of columns) packets.push(packet(seq++, coldef(table, c)));
  packets.push(packet(seq++, EOF));
  for (const r of rows) packets.push(packet(seq++, Buffer.concat(r.map(lenenc))));
  packets.push(packet(seq++, EOF));
  return Buffer.concat(packets);
}

const BCRYPT = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';
const ROWS = [
  ['1', 'admin', 'unusual-hash-format-0001', null],
  ['2', 'demo', 'c2VjcmV0LWJ1dC1ub3QtYS1rbm93bi1zaGFwZQ', '2026-11-27'],
  ['3', 'x'.repeat(300), BCRYPT, 'y'],
];
const COLUMNS = ['id', 'name', 'password_hash', 'created_at'];

interface Event {
  dir: 1 | 2;
  data: Buffer;
  /** bytes the syscall moved (data is its head when cut at the snaplen) */
  bytes?: number;
}

/** Runs events through one redactor as connection 9 with contiguous sequence numbers per direction. */
function run(events: Event[]): Buffer[] {
  const r = new PayloadRedactor();
  const seq = { 1: 500, 2: 90_000 };
  return events.map((e) => {
    const b = Buffer.from(e.data);
    const bytes = e.bytes ?? b.length;
    r.redactStream(b, 0, b.length, 9, e.dir, bytes, seq[e.dir]);
    seq[e.dir] = (seq[e.dir] + bytes) >>> 0;
    return b;
  });
}

const response = resultSet('password', COLUMNS, ROWS);
const expectedRows = ROWS.map((r) => r.map((v, i) => (v !== null && COLUMNS[i] === 'password_hash' ? '*'.repeat(v.length) : v)));
const expected = resultSet('password', COLUMNS, expectedRows);

test('MySQL result rows: the column whose definition says password_hash is masked in every row, the rest kept', () => {
  const [, out] = run([{ dir: 1, data: query('SELECT * FROM password') }, { dir: 2, data: response }]);
  assert.deepEqual(out, expected);
});

test('MySQL result rows: server side (query received, rows sent) is followed the same way', () => {
  const [, out] = run([{ dir: 2, data: query('SELECT * FROM password') }, { dir: 1, data: response }]);
  assert.deepEqual(out, expected);
});

test('MySQL result rows: the response split at every point, or read a few bytes at a time', () => {
  const q = query('SELECT * FROM password');
  for (let k = 1; k < response.length; k++) {
    const out = run([{ dir: 1, data: q }, { dir: 2, data: response.subarray(0, k) }, { dir: 2, data: response.subarray(k) }]);
    assert.deepEqual(Buffer.concat(out.slice(1)), expected, `split at ${k}`);
  }
  for (const size of [1, 2, 3, 5, 7, 64]) {
    const parts: Event[] = [{ dir: 1, data: q }];
    for (let i = 0; i < response.length; i += size) parts.push({ dir: 2, data: response.subarray(i, i + size) });
    assert.deepEqual(Buffer.concat(run(parts).slice(1)), expected, `reads of ${size}`);
  }
});

test('MySQL result rows: reads cut at a snaplen are followed through the bytes not kept', () => {
  // Three reads of 200 bytes, each keeping only its first 64: rows whose headers are seen are still masked.
  const q = query('SELECT * FROM password');
  const [a, b, c] = [response.subarray(0, 200), response.subarray(200, 400), response.subarray(400)];
  const out = run([{ dir: 1, data: q }, { dir: 2, data: a.subarray(0, 64), bytes: 200 }, { dir: 2, data: b.subarray(0, 64), bytes: 200 }, { dir: 2, data: c }]);
  const tail = out[3]!.toString('latin1');
  assert.ok(!tail.includes(BCRYPT.slice(7)), 'the last row, after two cut reads, is masked');
  assert.ok(tail.includes('y'), 'its other columns stay');
});

test('MySQL result rows: no sensitive column, nothing changes; a later query starts over', () => {
  const plain = resultSet('project', ['id', 'name'], [['p1', 'admin'], ['p2', 'service']]);
  const [, out1, , out2] = run([
    { dir: 1, data: query('SELECT id, name FROM project') }, { dir: 2, data: plain },
    { dir: 1, data: query('SELECT * FROM password') }, { dir: 2, data: response },
  ]);
  assert.deepEqual(out1, plain);
  assert.deepEqual(out2, expected);
});

test('MySQL result rows: bytes missing from the stream (a gap in sequence numbers) stop the walk until the next query', () => {
  const r = new PayloadRedactor();
  const q = Buffer.from(query('SELECT * FROM password'));
  r.redactStream(q, 0, q.length, 9, 1, q.length, 100);
  const part = Buffer.from(response.subarray(0, 120));
  r.redactStream(part, 0, part.length, 9, 2, part.length, 1000);
  const rest = Buffer.from(response.subarray(150)); // 30 bytes never seen: sequence numbers do not join
  r.redactStream(rest, 0, rest.length, 9, 2, rest.length, 1150);
  // Not followed any more (docs/capture.md, what is not redacted); a credential-shaped value is still caught.
  assert.ok(rest.toString('latin1').includes('c2VjcmV0LWJ1dC1ub3QtYS1rbm93bi1zaGFwZQ'), 'row 2 after the gap is not masked by column');
  assert.ok(!rest.toString('latin1').includes(BCRYPT.slice(7)), 'a bcrypt hash is still caught by its shape');
});
