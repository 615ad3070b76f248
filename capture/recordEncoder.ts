import {
  KREC_EVENT, KREC_EVENT_SIZE, KREC_CONN, KREC_CONN_SIZE, KREC_THREAD, KREC_THREAD_SIZE, REC_CONN, REC_THREAD, INFO_LEN16,
  RINGBUF_HEADER_SIZE,
} from './eventLayout.js';

/**
 * Writes the kernel's compact records (capture/event.h: struct nt_krec_*), each framed by an 8-byte ring header as
 * in the BPF ring buffer: what capture/nitrace_consumer.c reads. For tests and for replaying real captures in
 * benchmarks without a kernel; the kernel itself writes these records in nitrace.bpf.c.
 */
export class RecordEncoder {
  private readonly parts: Buffer[] = [];

  /** NT_REC_THREAD: `tid` belongs to process `pid`, named `comm`. */
  thread(tid: number, pid: number, comm: string): this {
    const r = this.record(KREC_THREAD_SIZE);
    r.writeUInt32LE(tid, KREC_THREAD.tid);
    r.writeUInt32LE(pid, KREC_THREAD.pid);
    r.write(comm.slice(0, 15), KREC_THREAD.comm, 'latin1');
    r[KREC_THREAD.kind] = REC_THREAD;
    return this;
  }

  /** NT_REC_CONN: connection number `conn` is socket `connId`, IPv4 addresses as dotted quads. */
  conn(c: { conn: number; connId: bigint; netns: number; localAddr: string; localPort: number; remoteAddr: string; remotePort: number }): this {
    const r = this.record(KREC_CONN_SIZE);
    r.writeBigUInt64LE(c.connId, KREC_CONN.connId);
    r.writeUInt32LE(c.conn, KREC_CONN.conn);
    r.writeUInt32LE(c.netns, KREC_CONN.netns);
    r.writeUInt16LE(c.localPort, KREC_CONN.localPort);
    r.writeUInt16LE(c.remotePort, KREC_CONN.remotePort);
    r[KREC_CONN.family] = 2;
    r[KREC_CONN.kind] = REC_CONN;
    ipv4(r, KREC_CONN.localAddr, c.localAddr);
    ipv4(r, KREC_CONN.remoteAddr, c.remoteAddr);
    return this;
  }

  /** An event (NT_KIND_* `kind`, NT_SYS_* `syscall`, NT_DIR_* `direction`) with its payload. */
  event(e: {
    ts: bigint; kind: number; syscall: number; direction?: number; tid: number; conn?: number; fd?: number; bytes?: number;
    tcpSeq?: number; gid?: bigint; parentGid?: bigint; payload?: Uint8Array;
  }): this {
    const payload = e.payload ?? new Uint8Array(0);
    const r = this.record(KREC_EVENT_SIZE + payload.length);
    r.writeBigUInt64LE(e.ts, KREC_EVENT.tsMonoNs);
    r.writeBigUInt64LE(e.gid ?? 0n, KREC_EVENT.gid);
    r.writeUInt32LE(e.conn ?? 0, KREC_EVENT.conn);
    r.writeUInt32LE(e.tid, KREC_EVENT.tid);
    if (e.parentGid !== undefined) {
      r.writeBigUInt64LE(e.parentGid, KREC_EVENT.bytes); // green_spawn: parent_gid in bytes + tcp_seq
    } else {
      r.writeUInt32LE(e.bytes ?? payload.length, KREC_EVENT.bytes);
      r.writeUInt32LE(e.tcpSeq ?? 0, KREC_EVENT.tcpSeq);
    }
    r.writeInt32LE(e.fd ?? -1, KREC_EVENT.fd);
    r.writeUInt16LE(payload.length & 0xffff, KREC_EVENT.payloadLen);
    r[KREC_EVENT.kind] = e.kind;
    r[KREC_EVENT.info] = e.syscall | ((e.direction ?? 0) << 5) | (payload.length > 0xffff ? INFO_LEN16 : 0);
    Buffer.from(payload.buffer, payload.byteOffset, payload.length).copy(r, KREC_EVENT_SIZE);
    return this;
  }

  /** Everything encoded so far. */
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }

  private record(len: number): Buffer {
    const total = (RINGBUF_HEADER_SIZE + len + 7) & ~7;
    const rec = Buffer.alloc(total);
    rec.writeUInt32LE(len, 0);
    this.parts.push(rec);
    return rec.subarray(RINGBUF_HEADER_SIZE);
  }
}

function ipv4(buf: Buffer, off: number, addr: string): void {
  const parts = addr.split('.').map(Number);
  for (let i = 0; i < 4; i++) buf[off + i] = parts[i] ?? 0;
}
