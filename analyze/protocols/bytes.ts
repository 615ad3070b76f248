/**
 * Byte-level helpers shared by the line-based parsers (redis/, memcached/): CR/LF, the internal stop signal, the
 * syscall end a gapped frame is assumed to end at, and the resync scan for the next line start.
 */
import type { GappedStream } from './gappedStream.js';

export const CR = 0x0d;
export const LF = 0x0a;

/** Why parsing stopped before the end of a frame. Internal to a parser: its parseFrame turns it into a ParseResult. */
export class Stop {
  constructor(
    readonly kind: 'needs-more-data' | 'invalid' | 'hidden',
    readonly at: number,
    readonly reason = '',
  ) {}
}

/** End of the syscall (chunk) that holds `pos`: where a frame whose structure a gap hid is assumed to end. */
export function chunkEndAt(stream: GappedStream, pos: number): number {
  const next = stream.nextChunkStart(pos);
  return next < 0 ? stream.length : next;
}

/** Window for resync scans. */
const SCAN_WINDOW = 4096;

/**
 * First line start (after LF, or a syscall start) at or after `from` whose first byte `opens` a frame, or -1.
 * Only captured bytes are searched.
 */
export function findLineStart(stream: GappedStream, from: number, opens: (b: number) => boolean): number {
  let p = Math.max(0, from);
  if (p >= stream.length) return -1;
  // `from` itself counts as a line start only after LF or at a syscall boundary (else every byte would be tried).
  let atLineStart = p === 0 || stream.nextChunkStart(p - 1) === p || stream.contiguousAt(p - 1, 1)[0] === LF;
  while (p < stream.length) {
    const run = stream.contiguousAt(p, SCAN_WINDOW);
    if (run.length === 0) {
      p = stream.nextChunkStart(p);
      if (p < 0) return -1;
      atLineStart = true; // a syscall boundary
      continue;
    }
    for (let i = 0; i < run.length; i++) {
      const lineStart = i === 0 ? atLineStart || stream.nextChunkStart(p - 1) === p : run[i - 1] === LF;
      if (lineStart && opens(run[i]!)) return p + i;
    }
    atLineStart = run[run.length - 1] === LF;
    p += run.length;
  }
  return -1;
}
