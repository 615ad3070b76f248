import { EVENT_HEADER_SIZE, RINGBUF_HEADER_SIZE, RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT } from './eventLayout.js';

/**
 * Splits the raw record stream forwarded by the consumer (capture/nitrace_consumer.c) into events. Each record is
 * an 8-byte ring header (length + flags) and `struct nt_event` + payload, padded to 8 bytes.
 *
 * Every event handed out starts 4-byte aligned in memory (`buf.byteOffset + offset`), so readers can take its
 * fields through a Uint32Array view (one load per field instead of four byte loads). Records are read where
 * they arrive when the chunk allows it (the usual case: Node's pipe reads start 8-byte aligned and the stream
 * is a sequence of 8-byte-padded records); a record split across two reads is completed in a small staging
 * buffer; a chunk whose records are misaligned is copied into the staging buffer first.
 */
export class RecordDecoder {
  /** Aligned staging memory: the start of a split record, or a misaligned chunk. */
  private stage: Buffer = Buffer.allocUnsafeSlow(1 << 16);
  /** Bytes of a split record waiting in `stage`. */
  private have = 0;
  /** Records marked discarded by the kernel (nitrace.bpf.c never discards; counted anyway). */
  discarded = 0;
  /** Records too short to hold an event header (would mean a layout mismatch). */
  malformed = 0;

  /** Calls `onEvent(buf, offset)` for each complete event (struct nt_event + payload at buf[offset..]). */
  push(chunk: Buffer, onEvent: (buf: Buffer, offset: number) => void): void {
    let at = 0;
    if (this.have > 0) {
      // complete the split record: first its header (for its length), then the rest
      if (this.have < RINGBUF_HEADER_SIZE) {
        const n = Math.min(RINGBUF_HEADER_SIZE - this.have, chunk.length);
        this.append(chunk, 0, n);
        at = n;
        if (this.have < RINGBUF_HEADER_SIZE) return;
      }
      const total = recordTotal(this.stage.readUInt32LE(0));
      const n = Math.min(total - this.have, chunk.length - at);
      this.append(chunk, at, n);
      at += n;
      if (this.have < total) return;
      this.have = 0;
      this.records(this.stage, 0, total, onEvent);
    }
    if (at === chunk.length) return;
    if (((chunk.byteOffset + at) & 3) === 0) {
      const done = this.records(chunk, at, chunk.length, onEvent);
      if (done < chunk.length) this.append(chunk, done, chunk.length - done);
    } else {
      // misaligned: work on an aligned copy
      const n = chunk.length - at;
      this.append(chunk, at, n);
      const done = this.records(this.stage, 0, n, onEvent);
      this.have = 0;
      if (done < n) {
        this.stage.copy(this.stage, 0, done, n);
        this.have = n - done;
      }
    }
  }

  /** Hands out the whole records of `buf[from, end)`; returns where the first incomplete one starts. */
  private records(buf: Buffer, from: number, end: number, onEvent: (buf: Buffer, offset: number) => void): number {
    let off = from;
    while (off + RINGBUF_HEADER_SIZE <= end) {
      const hdr = buf.readUInt32LE(off);
      const len = (hdr & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) >>> 0;
      const total = (len + RINGBUF_HEADER_SIZE + 7) & ~7;
      if (off + total > end) break;
      if (hdr & RINGBUF_DISCARD_BIT) this.discarded++;
      else if (len < EVENT_HEADER_SIZE) this.malformed++;
      else onEvent(buf, off + RINGBUF_HEADER_SIZE);
      off += total;
    }
    return off;
  }

  /** Appends `src[from, from + n)` to the staging buffer (grown as needed; its start stays aligned). */
  private append(src: Buffer, from: number, n: number): void {
    if (this.have + n > this.stage.length) {
      let size = this.stage.length * 2;
      while (size < this.have + n) size *= 2;
      const next = Buffer.allocUnsafeSlow(size);
      this.stage.copy(next, 0, 0, this.have);
      this.stage = next;
    }
    src.copy(this.stage, this.have, from, from + n);
    this.have += n;
  }

  /** Bytes of an incomplete record still waiting (non-zero at the end means the stream was cut). */
  get pendingBytes(): number {
    return this.have;
  }
}

function recordTotal(hdr: number): number {
  const len = (hdr & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) >>> 0;
  return (len + RINGBUF_HEADER_SIZE + 7) & ~7;
}
