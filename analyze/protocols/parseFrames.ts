import type { GappedStream } from './gappedStream.js';
import type { ProtocolSpec } from './protocol.js';
import type { Frame, MessageType } from './types.js';

/** What the shared framing loop found on one direction of one connection, with what it had to skip. */
export interface FramesResult<F extends Frame> {
  frames: F[];
  /** Times the parser said `invalid` and the loop resynced. */
  invalidCount: number;
  /** Stream bytes skipped while resyncing (garbage, lost heads, mid-message start of capture). */
  skippedBytes: number;
  /** Bytes at the end that did not make a whole frame (capture stopped mid-message). */
  incompleteBytes: number;
}

/**
 * Runs a protocol's parseFrame over a stream from position 0 (Pixie's event_parser loop). A position inside an
 * uncaptured gap or at bytes the parser rejects is skipped to the next plausible frame boundary, so a capture
 * that began mid-message, lost bytes, or carries garbage still yields every frame after it.
 */
export function parseFrames<F extends Frame>(spec: ProtocolSpec<F>, stream: GappedStream, type: MessageType): FramesResult<F> {
  const out: FramesResult<F> = { frames: [], invalidCount: 0, skippedBytes: 0, incompleteBytes: 0 };
  let pos = 0;
  while (pos < stream.length) {
    const r = stream.contiguousAt(pos, 1).length === 0 ? null : spec.parseFrame(stream, pos, type);
    if (r?.state === 'ok' || r?.state === 'ignored') {
      if (r.state === 'ok') out.frames.push(r.frame);
      pos += Math.max(1, r.length); // a zero length would loop forever: a parser bug, step over it
      continue;
    }
    if (r?.state === 'needs-more-data') {
      out.incompleteBytes += stream.length - pos;
      break;
    }
    if (r?.state === 'invalid') out.invalidCount++;
    const next = spec.findFrameBoundary(stream, pos + 1, type);
    const to = next < 0 || next <= pos ? stream.length : next;
    out.skippedBytes += to - pos;
    pos = to;
  }
  return out;
}
