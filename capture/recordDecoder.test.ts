/** RecordDecoder: any split of the record stream, aligned or not, gives the same events, each 4-byte aligned (no root). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordDecoder } from './recordDecoder.js';
import { SegmentBuilder } from './segmentBuilder.js';
import { PayloadRedactor } from './redact.js';
import { EVENT_HEADER_SIZE, OFFSET } from './eventLayout.js';
import { ringRecord } from '../testing/ringRecords.js';

const stream = Buffer.concat(Array.from({ length: 40 }, (_, i) => ringRecord({ monoNs: BigInt(1000 + i), seq: i * 100, payload: 'p'.repeat((i * 37) % 150) + `#${i}` })));

function decode(chunks: Buffer[]): string[] {
  const d = new RecordDecoder();
  const out: string[] = [];
  for (const c of chunks) {
    d.push(c, (buf, off) => {
      assert.equal((buf.byteOffset + off) % 4, 0, 'event 4-byte aligned');
      out.push(buf.subarray(off, off + EVENT_HEADER_SIZE + buf.readUInt32LE(off + OFFSET.payloadLen)).toString('hex'));
    });
  }
  assert.equal(d.pendingBytes, 0);
  return out;
}

/** `b` split in pieces of `size`, each piece at a byte offset `shift` of its own memory (pipe reads need not be aligned). */
function split(b: Buffer, size: number, shift: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; at += size) {
    const piece = b.subarray(at, Math.min(b.length, at + size));
    const mem = Buffer.alloc(piece.length + shift + 8);
    const aligned = (8 - (mem.byteOffset % 8)) % 8;
    piece.copy(mem, aligned + shift);
    out.push(mem.subarray(aligned + shift, aligned + shift + piece.length));
  }
  return out;
}

test('record decoder: every split and misalignment of the stream gives the same events, each aligned', () => {
  const whole = decode([stream]);
  assert.equal(whole.length, 40);
  for (const size of [1, 2, 3, 5, 7, 8, 9, 13, 64, 127, 128, 1000, 4096, stream.length]) {
    for (const shift of [0, 1, 2, 3, 4]) assert.deepEqual(decode(split(stream, size, shift)), whole, `pieces of ${size} at +${shift}`);
  }
});

test('segment builder: an event handed over misaligned is stored and redacted like an aligned one', () => {
  const rec = ringRecord({ monoNs: 5n, payload: 'GET / HTTP/1.1\r\nX-Auth-Token: abcdefgh\r\n\r\n' });
  const add = (b: SegmentBuilder, buf: Buffer, off: number) => {
    b.add(buf, off);
    return b.columns().map((c) => Buffer.from(c.data).toString('hex'));
  };
  const aligned = Buffer.from(rec);
  const a = add(new SegmentBuilder(new PayloadRedactor()), aligned, 8);
  const mem = Buffer.alloc(rec.length + 16);
  const at = ((8 - (mem.byteOffset % 8)) % 8) + 1; // odd address
  rec.copy(mem, at);
  const b = add(new SegmentBuilder(new PayloadRedactor()), mem, at + 8);
  assert.deepEqual(b, a);
  assert.ok(mem.toString('latin1').includes('X-Auth-Token: ********'), 'redacted in place in the caller\'s buffer');
});
