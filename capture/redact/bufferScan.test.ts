/**
 * BufferScan (capture/redact/triggers.ts): the redactor scans a pipe read once for all its payloads. Whatever way
 * the reads cut the record stream, the redacted payloads must equal those of each payload scanned on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferScan, findTriggersBytewise, findTriggersSimd, hasSimd, TRIGGERS } from './triggers.js';
import { PayloadRedactor } from './payloadRedactor.js';
import { RecordDecoder } from '../recordDecoder.js';
import { SegmentBuilder } from '../segmentBuilder.js';
import { ringRecord } from '../../testing/ringRecords.js';
import { redactStream } from '../../testing/redactTestkit.js';

const bytesOf = (s: string) => Buffer.from(s, 'latin1');

test('BufferScan: successive ranges of one buffer, the same words as the byte-wise scan of each', { skip: !hasSimd }, () => {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  const alphabet = 'pPaAsSwWoOrRdDtTkKeEnNcCiIhHmMyYjJgGfFbBl_-:/$256\r\n "{}\\';
  for (let round = 0; round < 40; round++) {
    const len = 1000 + Math.floor(rnd() * 200_000); // past the first windows and past 64 KiB
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = alphabet.charCodeAt(Math.floor(rnd() * alphabet.length));
    for (let i = 0; i < len / 40; i++) {
      const t = TRIGGERS[Math.floor(rnd() * TRIGGERS.length)]!;
      b.set(t.word.subarray(0, Math.min(t.word.length, len - 1)), Math.floor(rnd() * (len - t.word.length)));
    }
    const scan = BufferScan.create()!;
    const out = new Int32Array(1 << 16);
    const ref = new Int32Array(1 << 16);
    // ranges with gaps between them (event headers), of 0 bytes up to larger than a window
    for (let from = Math.floor(rnd() * 16); from < len; ) {
      const size = rnd() < 0.1 ? Math.floor(rnd() * 70_000) : Math.floor(rnd() * 300);
      const end = Math.min(len, from + size);
      const n = scan.find(b, from, end, out);
      const m = findTriggersBytewise(b, from, end, from, ref);
      assert.equal(n, m, `count at [${from}, ${end})`);
      assert.deepEqual([...out.subarray(0, 2 * n)], [...ref.subarray(0, 2 * m)], `words at [${from}, ${end})`);
      from = end + 1 + Math.floor(rnd() * 40);
    }
  }
});

test('BufferScan: every word in every case as a whole range, cut at either end, one range after the other', { skip: !hasSimd }, () => {
  const parts: string[] = [];
  for (const t of TRIGGERS) {
    const w = String.fromCharCode(...t.word);
    for (const v of t.exact ? [w] : [w, w.toUpperCase(), w[0]!.toUpperCase() + w.slice(1)]) parts.push(v, `${v}"`, `x${v}`, v.slice(1), v.slice(0, -1));
  }
  const b = bytesOf(parts.join('..')); // two bytes between ranges, as a header would be
  const scan = BufferScan.create()!;
  const out = new Int32Array(64);
  const ref = new Int32Array(64);
  let found = 0;
  for (let from = 0, i = 0; i < parts.length; from += parts[i]!.length + 2, i++) {
    const end = from + parts[i]!.length;
    const n = scan.find(b, from, end, out);
    assert.equal(n, findTriggersBytewise(b, from, end, from, ref), `'${parts[i]}'`);
    assert.deepEqual([...out.subarray(0, 2 * n)], [...ref.subarray(0, 2 * n)], `'${parts[i]}'`);
    found += n;
  }
  assert.ok(found >= parts.length / 5 * 3, `each whole word found (${found})`);
});

test('BufferScan: a buffer refilled in place (the decoder staging a split record) is scanned afresh', { skip: !hasSimd }, () => {
  const scan = BufferScan.create()!;
  const out = new Int32Array(64);
  const b = new Uint8Array(4096);
  b.set(bytesOf('GET /v2/images HTTP/1.1\r\nHost: a\r\n\r\n'), 100);
  assert.equal(scan.find(b, 100, 140, out), 0);
  // refilled: a range at the same place, and one before it
  b.set(bytesOf('GET / HTTP/1.1\r\nX-Auth-Token: gAAAAA1\r\n\r\n'), 100);
  assert.equal(scan.find(b, 100, 140, out), 2, 'token and gAAAAA at the same offset');
  b.set(bytesOf('{"password": "x"}'), 10);
  assert.equal(scan.find(b, 10, 27, out), 1, 'an earlier offset');
  // another object over the same memory
  const c = new Uint8Array(b.buffer, 0, 4096);
  b.set(bytesOf('"secret": 1'), 200);
  assert.equal(scan.find(c, 200, 211, out), 1, 'another view of the same bytes');
});

test('BufferScan: a list that fills up reports -1 (the caller scans again with room)', { skip: !hasSimd }, () => {
  const b = bytesOf('token,'.repeat(100));
  assert.equal(BufferScan.create()!.find(b, 0, b.length, new Int32Array(2 * 50)), -1);
  assert.equal(findTriggersSimd(b, 0, b.length, 0, new Int32Array(2 * 50)), 50, 'findTriggersSimd: the first 50, as the byte-wise scan');
});

/** Secrets of every JSON type, names in every case, escaped quotes, in exchanges split into several writes. */
const STREAMS: string[][] = [
  ['POST /v3/auth/tokens HTTP/1.1\r\nX-Auth-Token: gAAAAABrCUVmdbQHyT70K\r\n\r\n', '{"auth": {"identity": {"methods": ["password"], "pass', 'word": {"user": {"name": "admin", "PASSWORD": "lab\\"pass"}}}}}'],
  ['{"Secret": 12345.5e3, "TOKEN": {"id": "abc", "x": [1, 2]}, "api_key": ["k1", "k2"], "credential": null, "private_key": true}'],
  ['{"user": "a", "password"', ': "split after the key"}', '{"token": ', '"split after the colon"}'],
  ['HTTP/1.1 201 Created\r\nX-Subject-Token: gAAAAA', 'BrCUVmdbQHyT70K\r\nContent-Length: 2\r\n\r\n{}'],
  ['*2\r\n$4\r\nAUTH\r\n$7\r\nlabpass\r\n'],
  ['{"oslo.message": "{\\"_context_auth_token\\": \\"gAAAAAB1\\", \\"_context_password\\": {\\"a\\": [\\"b\\"]}}"}'],
  ['UPDATE local_user SET password_hash=\'$2b$12$abcdefghijklmnopqrstuv\' WHERE id=1', 'mysql+pymysql://nova:labpass@127.0.0.1/nova'],
];

/** The records of STREAMS, their writes interleaved across connections. */
function records(): { recs: Buffer[]; streamOf: number[] } {
  const recs: Buffer[] = [];
  const streamOf: number[] = [];
  const seqs = STREAMS.map(() => 1000);
  for (let i = 0; STREAMS.some((s) => i < s.length); i++) {
    STREAMS.forEach((s, c) => {
      const p = s[i];
      if (p === undefined) return;
      recs.push(ringRecord({ monoNs: BigInt(recs.length + 1), conn: BigInt(c + 1), seq: seqs[c], payload: p }));
      streamOf.push(c);
      seqs[c]! += p.length;
    });
  }
  return { recs, streamOf };
}

/** The payload column of a builder fed `stream` in reads of `size` bytes (misaligned ones are copied by the decoder). */
function payloadColumn(stream: Buffer, size: number, ownBuffers = false): Buffer {
  const builder = new SegmentBuilder(new PayloadRedactor());
  const dec = new RecordDecoder();
  for (let at = 0; at < stream.length; at += size) dec.push(ownBuffers ? Buffer.from(stream.subarray(at, at + size)) : stream.subarray(at, at + size), (b, o) => builder.add(b, o));
  assert.equal(dec.pendingBytes, 0);
  return Buffer.from(builder.columns().find((c) => c.name === 'payload')!.data);
}

test('redaction through the decoder: any cut of the record stream into reads redacts as each write in its own buffer', () => {
  const { recs, streamOf } = records();
  // reference: every record pushed on its own (each payload scanned in its own buffer)
  const one = new SegmentBuilder(new PayloadRedactor());
  const dec = new RecordDecoder();
  for (const r of recs) dec.push(Buffer.from(r), (b, o) => one.add(b, o));
  const reference = Buffer.from(one.columns().find((c) => c.name === 'payload')!.data);
  assert.deepEqual(payloadColumn(Buffer.concat(recs), 1 << 30), reference, 'one read of everything');
  for (const secret of ['labpass', 'lab\\"pass', 'gAAAAABrCUVmdbQHyT70K', 'split after', '12345', '$2b$12$abc', 'BrCUVmdbQHyT70K']) assert.ok(!reference.includes(secret), secret);
  for (const size of [1, 3, 7, 8, 13, 64, 100, 257, 1000]) {
    assert.deepEqual(payloadColumn(Buffer.concat(recs), size), reference, `reads of ${size} bytes`);
    assert.deepEqual(payloadColumn(Buffer.concat(recs), size, true), reference, `reads of ${size} bytes, each in a fresh buffer`);
  }
  // each stream as the testkit redacts it (a buffer per write): row by row, in arrival order
  const perStream = STREAMS.map(() => '');
  for (let at = 0, row = 0; at < reference.length; row++) {
    const len = reference.readUInt32LE(at);
    perStream[streamOf[row]!] += reference.toString('latin1', at + 4, at + 4 + len);
    at += 4 + len;
  }
  for (const [c, s] of STREAMS.entries()) assert.equal(perStream[c], redactStream(s, new PayloadRedactor()), `stream ${c}`);
});
