import { EVENT_HEADER_SIZE, RINGBUF_HEADER_SIZE, RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT } from './eventLayout.js';

/**
 * Splits the raw ring-buffer bytes forwarded by capture/agent.py into events. Each record is an 8-byte ring
 * header (length + flags) and `struct nt_event` + payload, padded to 8 bytes. A record split across two reads
 * of the pipe waits in `pending` for the rest.
 */
export class RecordDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Records marked discarded by the kernel (nitrace.bpf.c never discards; counted anyway). */
  discarded = 0;
  /** Records too short to hold an event header (would mean a layout mismatch). */
  malformed = 0;

  /** Calls `onEvent(buf, offset)` for each complete event (struct nt_event + payload at buf[offset..]). */
  push(chunk: Buffer, onEvent: (buf: Buffer, offset: number) => void): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    while (off + RINGBUF_HEADER_SIZE <= buf.length) {
      const hdr = buf.readUInt32LE(off);
      const len = (hdr & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) >>> 0;
      const total = (len + RINGBUF_HEADER_SIZE + 7) & ~7;
      if (off + total > buf.length) break;
      if (hdr & RINGBUF_DISCARD_BIT) this.discarded++;
      else if (len < EVENT_HEADER_SIZE) this.malformed++;
      else onEvent(buf, off + RINGBUF_HEADER_SIZE);
      off += total;
    }
    this.pending = off < buf.length ? Buffer.from(buf.subarray(off)) : Buffer.alloc(0);
  }

  /** Bytes of an incomplete record still waiting (non-zero at the end means the stream was cut). */
  get pendingBytes(): number {
    return this.pending.length;
  }
}
