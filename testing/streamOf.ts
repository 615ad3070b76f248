import { GappedStream } from '../analyze/protocols/gappedStream.js';
import type { Chunk } from '../analyze/protocols/types.js';

/** A piece of a test stream: text fully captured, or `{text, bytes}` where only `text` of `bytes` was captured. */
export type Piece = string | { text: string; bytes: number; tid?: number };

/** Builds a GappedStream from pieces, one syscall each, 1 µs apart starting at `t0`. For parser tests. */
export function streamOf(pieces: readonly Piece[], t0 = 1_000_000n, tid = 7): GappedStream {
  const enc = new TextEncoder();
  const chunks: Chunk[] = pieces.map((p, i) => {
    const text = typeof p === 'string' ? p : p.text;
    const data = enc.encode(text);
    return {
      tsNs: t0 + BigInt(i) * 1000n,
      tid: typeof p === 'string' ? tid : (p.tid ?? tid),
      bytes: typeof p === 'string' ? data.length : p.bytes,
      data,
    };
  });
  return new GappedStream(chunks);
}
