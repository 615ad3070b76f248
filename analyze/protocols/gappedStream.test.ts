import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GappedStream } from './gappedStream.js';
import type { Chunk } from './types.js';

/** Chunks of 0-9 bytes moved, some with only a head captured, numbered bytes. */
function randomChunks(seed: number, n: number): Chunk[] {
  let s = seed;
  const next = (k: number): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % k;
  };
  let b = 0;
  return Array.from({ length: n }, (_, i) => {
    const bytes = next(10);
    const captured = next(3) === 0 ? next(bytes + 1) : bytes;
    const data = Uint8Array.from({ length: captured }, (_, k) => (b + k) & 0xff);
    b += bytes;
    return { tsNs: BigInt(i), tid: 1, bytes, data, tcpSeq: 0xfffffff0 + i };
  });
}

describe('gappedStream', () => {
  it('peek copies what contiguousAt holds, across chunks and up to gaps, at every position', () => {
    for (const seed of [1, 2, 3, 4]) {
      const stream = new GappedStream(randomChunks(seed, 60));
      for (const size of [1, 4, 5, 16]) {
        const into = new Uint8Array(size);
        for (let pos = -1; pos <= stream.length; pos++) {
          const want = stream.contiguousAt(pos, size);
          const n = stream.peek(pos, into);
          assert.equal(n, want.length, `seed ${seed} pos ${pos} size ${size}`);
          assert.deepEqual([...into.subarray(0, n)], [...want]);
        }
      }
    }
  });

  it('reads the same after dropping and compacting as a stream that kept every chunk', () => {
    const chunks = randomChunks(5, 700);
    const whole = new GappedStream(chunks);
    const growing = new GappedStream([], false);
    let pushed = 0;
    for (let pos = 0; pos < whole.length; pos += 7) {
      while (pushed < chunks.length && growing.length <= pos + 40) growing.push(chunks[pushed++]!);
      growing.dropBefore(pos - 1);
      for (const p of [pos, pos + 3, pos + 11]) {
        if (p >= growing.length) continue;
        const i = growing.chunkIndexAt(p);
        assert.equal(i, whole.chunkIndexAt(p), `pos ${p}`);
        assert.equal(growing.chunk(i), whole.chunk(i));
        assert.equal(growing.seqAt(p), whole.seqAt(p));
        assert.deepEqual([...growing.contiguousAt(p, 16)], [...whole.contiguousAt(p, 16)]);
      }
      assert.equal(growing.chunkCount, pushed);
      assert.throws(() => growing.chunk(pushed));
    }
  });

  it('seqAt adds the offset modulo 2^32, whatever the width of the recorded sequence number', () => {
    const chunk = (tcpSeq: number | null): Chunk => ({ tsNs: 0n, tid: 1, bytes: 100, data: new Uint8Array(100), tcpSeq });
    const s = new GappedStream([chunk(0xffffffe0), chunk(5), chunk(null), chunk(2 ** 40 + 0xfffffffe)]);
    assert.equal(s.seqAt(0), 0xffffffe0);
    assert.equal(s.seqAt(31), 0xffffffff);
    assert.equal(s.seqAt(32), 0);
    assert.equal(s.seqAt(99), 0x43);
    assert.equal(s.seqAt(100), 5);
    assert.equal(s.seqAt(150), 55);
    assert.equal(s.seqAt(250), null);
    assert.equal(s.seqAt(301), 0xffffffff);
    assert.equal(s.seqAt(302), 0);
    assert.equal(s.seqAt(400), null);
  });
});
