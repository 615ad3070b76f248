import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrowableBuffer } from './growableBuffer.js';

test('byteArrayFrom writes what byteArray writes: every length around the word copy, any source offset, across growth', () => {
  const src = Buffer.alloc(400);
  for (let i = 0; i < src.length; i++) src[i] = (i * 37 + 11) & 0xff;
  const view = new DataView(src.buffer, src.byteOffset, src.length);
  const a = new GrowableBuffer(16);
  const b = new GrowableBuffer(16);
  for (let n = 0; n <= 140; n++) {
    for (const start of [0, 1, 2, 3, 5, 250]) {
      a.byteArray(src, start, n);
      b.byteArrayFrom(src, view, start, n);
    }
    a.byteArray(src, 0, 0);
    b.emptyByteArray();
  }
  assert.equal(b.length, a.length);
  assert.ok(a.bytes().equals(b.bytes()));
});
