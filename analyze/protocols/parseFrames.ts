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

/** Bytes before the end of a failed boundary search looked at again when it goes on (a header cut by the end). */
const RESYNC_OVERLAP = 64;
/** Bytes a resync waits over for a frame boundary before it skips them. */
const MAX_RESYNC_WAIT = 4 * 1024 * 1024;

/**
 * The shared framing loop (Pixie's event_parser) over one direction of one connection, run as bytes arrive: each
 * `pump()` frames what it can and stops at a frame that needs more data. A position inside an uncaptured gap or at
 * bytes the parser rejects is skipped to the next plausible frame boundary, so a capture that began mid-message,
 * lost bytes, or carries garbage still yields every frame after it. Chunks before the position reached are
 * dropped from the stream, so memory holds the open frame only.
 */
export class FrameReader<F extends Frame> {
  /** Stream position of the next frame to parse. */
  pos = 0;
  invalidCount = 0;
  skippedBytes = 0;
  incompleteBytes = 0;
  /** While a resync waits for more bytes: how far the boundary search has looked (else -1). */
  private resyncScannedTo = -1;

  constructor(
    private readonly spec: ProtocolSpec<F>,
    readonly stream: GappedStream,
    readonly type: MessageType,
    private readonly onFrame: (frame: F) => void,
    /** Drop chunks the reader is done with (off when the caller reads the stream afterwards). */
    private readonly dropConsumed = true,
  ) {}

  /** Frames everything the stream allows now; at the final end, counts what is left as incomplete. */
  pump(): void {
    const { stream, spec, type } = this;
    let pos = this.pos;
    while (pos < stream.length) {
      const r = stream.capturedAt(pos) ? spec.parseFrame(stream, pos, type) : null;
      if (r?.state === 'ok' || r?.state === 'ignored') {
        this.resyncScannedTo = -1;
        if (r.state === 'ok') {
          const f = r.frame;
          const c = stream.chunkAt(pos);
          f.tcpSeq = stream.seqAt(pos);
          f.pid = c.pid;
          f.gid = c.gid ?? null;
          this.onFrame(f);
        }
        pos += Math.max(1, r.length); // a zero length would loop forever: a parser bug, step over it
        continue;
      }
      if (r?.state === 'needs-more-data') {
        if (stream.final) {
          this.incompleteBytes += stream.length - pos;
          pos = stream.length;
        }
        break;
      }
      if (r?.state === 'invalid' && this.resyncScannedTo < 0) this.invalidCount++;
      // Resync: the next plausible frame start. While the stream grows, a search that finds none waits for more
      // bytes (the boundary may be in the next syscall) instead of skipping what is there, scanning on from where
      // it stopped; a search that waits longer than MAX_RESYNC_WAIT bytes gives those up.
      const from = Math.max(pos + 1, this.resyncScannedTo - RESYNC_OVERLAP);
      const next = spec.findFrameBoundary(stream, from, type);
      if (next < 0 && !stream.final && stream.length - pos < MAX_RESYNC_WAIT) {
        this.resyncScannedTo = stream.length;
        break;
      }
      this.resyncScannedTo = -1;
      const to = next < 0 || next <= pos ? stream.length : next;
      this.skippedBytes += to - pos;
      pos = to;
    }
    this.pos = pos;
    // Keep the byte before the position too: line-based resync looks one byte back for a line start.
    if (this.dropConsumed) stream.dropBefore(pos - 1);
  }

  /** Exit time of the syscall where the frame being read starts, or null if no frame is open. */
  openFrameTs(): bigint | null {
    return this.pos < this.stream.length ? this.stream.tsAt(this.pos) : null;
  }
  // While resyncing, the position is where skipping started: no frame starts before the boundary to come, so the
  // bound above is only early, never wrong.
}

/** Runs the framing loop over a whole (final) stream from position 0. */
export function parseFrames<F extends Frame>(spec: ProtocolSpec<F>, stream: GappedStream, type: MessageType): FramesResult<F> {
  const frames: F[] = [];
  const reader = new FrameReader(spec, stream, type, (f) => frames.push(f), false);
  reader.pump();
  return { frames, invalidCount: reader.invalidCount, skippedBytes: reader.skippedBytes, incompleteBytes: reader.incompleteBytes };
}
