import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GappedStream } from '../gappedStream.js';
import { parseFrames } from '../parseFrames.js';
import { rng } from '../../../testing/protocolTestkit.js';
import type { Chunk, MessageType } from '../types.js';
import { httpSpec } from './spec.js';
import { stitchHttp } from './stitch.js';

const SEEDS = [
  'GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Request-ID: 1\r\n\r\n',
  'POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'HTTP/1.0 500 Oops\r\n\r\n',
];

test('http fuzz: random and mutated streams never throw and never loop', () => {
  const enc = new TextEncoder();
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    const chunks: Chunk[] = [];
    const n = 1 + Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      let data: Uint8Array;
      if (r() < 0.3) {
        data = new Uint8Array(Math.floor(r() * 200)).map(() => Math.floor(r() * 256));
      } else {
        data = enc.encode(SEEDS[Math.floor(r() * SEEDS.length)]!.repeat(1 + Math.floor(r() * 3)));
        const flips = Math.floor(r() * 4);
        for (let f = 0; f < flips && data.length; f++) data[Math.floor(r() * data.length)] = Math.floor(r() * 256);
        if (r() < 0.3) data = data.subarray(0, Math.floor(r() * data.length));
      }
      const captured = r() < 0.2 ? data.subarray(0, Math.floor(r() * data.length)) : data;
      const bytes = captured.length < data.length ? data.length : data.length + (r() < 0.1 ? Math.floor(r() * 5000) : 0);
      chunks.push({ tsNs: BigInt(seed * 100 + i), tid: 1, bytes, data: captured });
    }
    const stream = new GappedStream(chunks);
    for (const type of ['request', 'response'] as MessageType[]) {
      const res = parseFrames(httpSpec, stream, type);
      let covered = res.skippedBytes + res.incompleteBytes;
      for (const f of res.frames) {
        assert.ok(f.length > 0 && f.startPos >= 0 && f.startPos + f.length <= stream.length, `seed ${seed}`);
        covered += f.length;
      }
      assert.ok(covered <= stream.length, `seed ${seed}: frames overlap`);
      const st = stitchHttp(type === 'request' ? res.frames : [], type === 'response' ? res.frames : []);
      assert.ok(st.errorCount >= 0);
    }
  }
});
