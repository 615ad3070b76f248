/** Raw ring-buffer records as the kernel agent forwards them (capture/event.h, offsets from capture/eventLayout.ts), for tests of the user-space path without a kernel. */
import { OFFSET, EVENT_HEADER_SIZE, RINGBUF_HEADER_SIZE } from '../capture/eventLayout.js';

export interface RecordFields {
  monoNs: bigint;
  conn?: bigint;
  pid?: number;
  tid?: number;
  fd?: number;
  /** 1 data, 2 connect, 3 accept, 4 close */
  kind?: number;
  /** 1 send, 2 recv */
  direction?: number;
  seq?: number;
  /** bytes the syscall moved (default: the payload's length) */
  bytes?: number;
  payload?: string | Uint8Array;
  comm?: string;
  localPort?: number;
  remotePort?: number;
}

/** One record: 8-byte ring header, struct nt_event, payload, padded to 8 bytes. */
export function ringRecord(f: RecordFields): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload, 'latin1') : Buffer.from(f.payload ?? []);
  const len = EVENT_HEADER_SIZE + payload.length;
  const rec = Buffer.alloc((RINGBUF_HEADER_SIZE + len + 7) & ~7);
  rec.writeUInt32LE(len, 0);
  const o = RINGBUF_HEADER_SIZE;
  rec.writeBigUInt64LE(f.monoNs, o + OFFSET.tsMonoNs);
  rec.writeBigUInt64LE(f.conn ?? 1n, o + OFFSET.connId);
  rec.writeUInt32LE(f.pid ?? 100, o + OFFSET.pid);
  rec.writeUInt32LE(f.tid ?? f.pid ?? 100, o + OFFSET.tid);
  rec.writeInt32LE(f.fd ?? 5, o + OFFSET.fd);
  rec.writeUInt32LE(f.bytes ?? payload.length, o + OFFSET.bytes);
  rec.writeUInt32LE(f.seq ?? 0, o + OFFSET.tcpSeq);
  rec.writeUInt16LE(f.localPort ?? 40000, o + OFFSET.localPort);
  rec.writeUInt16LE(f.remotePort ?? 5000, o + OFFSET.remotePort);
  rec.writeUInt32LE(payload.length, o + OFFSET.payloadLen);
  rec[o + OFFSET.kind] = f.kind ?? 1;
  rec[o + OFFSET.direction] = f.direction ?? 1;
  rec[o + OFFSET.family] = 2;
  rec[o + OFFSET.syscall] = (f.direction ?? 1) === 1 ? 6 : 1;
  rec.set([127, 0, 0, 1], o + OFFSET.localAddr);
  rec.set([127, 0, 0, 1], o + OFFSET.remoteAddr);
  rec.write((f.comm ?? 'test').slice(0, 15), o + OFFSET.comm, 'latin1');
  payload.copy(rec, o + EVENT_HEADER_SIZE);
  return rec;
}
