import { GrowableBuffer } from './growableBuffer.js';
import { OFFSET, EVENT_HEADER_SIZE } from './eventLayout.js';
import { PHYSICAL, type PlainColumn } from './plainParquet.js';
import { formatAddr } from './formatAddr.js';
import { redactSecrets } from './redact.js';

/**
 * Accumulates decoded events of one segment as PLAIN-encoded spool columns (capture/plainParquet.ts). The hot
 * path of the capture: per event it copies fixed fields byte for byte, redacts the payload in place, and looks
 * text (comm, addresses) up in small caches.
 */
export class SegmentBuilder {
  rows = 0;
  redacted = 0;
  firstMono: bigint | null = null;
  lastMono: bigint | null = null;
  /** pids seen in this segment, for the process table. */
  readonly pids = new Set<number>();

  private readonly cols = {
    mono_ns: new GrowableBuffer(),
    pid: new GrowableBuffer(),
    tid: new GrowableBuffer(),
    fd: new GrowableBuffer(),
    kind: new GrowableBuffer(),
    syscall: new GrowableBuffer(),
    direction: new GrowableBuffer(),
    family: new GrowableBuffer(),
    conn_id: new GrowableBuffer(),
    local_port: new GrowableBuffer(),
    remote_port: new GrowableBuffer(),
    netns: new GrowableBuffer(),
    tcp_seq: new GrowableBuffer(),
    bytes: new GrowableBuffer(),
    comm: new GrowableBuffer(),
    local_addr: new GrowableBuffer(),
    remote_addr: new GrowableBuffer(),
    payload: new GrowableBuffer(1 << 20),
  };
  private readonly commByTid = new Map<number, { raw: Buffer; text: Buffer }>();
  private readonly addrByConn = new Map<bigint, { raw: Buffer; local: Buffer; remote: Buffer }>();
  private static readonly EMPTY = Buffer.alloc(0);

  constructor(private readonly redact: boolean) {}

  /** Bytes held in memory, to rotate segments by size. */
  get byteSize(): number {
    let n = 0;
    for (const c of Object.values(this.cols)) n += c.length;
    return n;
  }

  /** Append one event (`struct nt_event` + payload). The payload is redacted in place first. */
  add(ev: Buffer): void {
    const c = this.cols;
    c.mono_ns.copyFrom(ev, OFFSET.tsMonoNs, 8);
    c.pid.copyFrom(ev, OFFSET.pid, 4);
    c.tid.copyFrom(ev, OFFSET.tid, 4);
    c.fd.copyFrom(ev, OFFSET.fd, 4);
    c.kind.copyFrom(ev, OFFSET.kind, 1, 3);
    c.syscall.copyFrom(ev, OFFSET.syscall, 1, 3);
    c.direction.copyFrom(ev, OFFSET.direction, 1, 3);
    c.family.copyFrom(ev, OFFSET.family, 1, 3);
    c.conn_id.copyFrom(ev, OFFSET.connId, 8);
    c.local_port.copyFrom(ev, OFFSET.localPort, 2, 2);
    c.remote_port.copyFrom(ev, OFFSET.remotePort, 2, 2);
    c.netns.copyFrom(ev, OFFSET.netns, 4, 4);
    c.tcp_seq.copyFrom(ev, OFFSET.tcpSeq, 4, 4);
    c.bytes.copyFrom(ev, OFFSET.bytes, 4, 4);
    c.comm.byteArray(this.comm(ev));
    const family = ev[OFFSET.family]!;
    if (family === 2 || family === 10) {
      const a = this.addresses(ev, family);
      c.local_addr.byteArray(a.local);
      c.remote_addr.byteArray(a.remote);
    } else {
      c.local_addr.byteArray(SegmentBuilder.EMPTY);
      c.remote_addr.byteArray(SegmentBuilder.EMPTY);
    }
    const payloadLen = ev.readUInt16LE(OFFSET.payloadLen);
    const payload = ev.subarray(EVENT_HEADER_SIZE, EVENT_HEADER_SIZE + payloadLen);
    if (this.redact && payloadLen > 0 && redactSecrets(payload) > 0) this.redacted++;
    c.payload.byteArray(payload);
    const mono = ev.readBigUInt64LE(OFFSET.tsMonoNs);
    if (this.firstMono === null || mono < this.firstMono) this.firstMono = mono;
    if (this.lastMono === null || mono > this.lastMono) this.lastMono = mono;
    this.pids.add(ev.readUInt32LE(OFFSET.pid));
    this.rows++;
  }

  private comm(ev: Buffer): Buffer {
    const tid = ev.readUInt32LE(OFFSET.tid);
    const raw = ev.subarray(OFFSET.comm, OFFSET.comm + 16);
    const known = this.commByTid.get(tid);
    if (known && known.raw.equals(raw)) return known.text;
    let end = 0;
    while (end < 16 && raw[end] !== 0) end++;
    const entry = { raw: Buffer.from(raw), text: Buffer.from(raw.subarray(0, end)) };
    this.commByTid.set(tid, entry);
    return entry.text;
  }

  private addresses(ev: Buffer, family: number): { local: Buffer; remote: Buffer } {
    const conn = ev.readBigUInt64LE(OFFSET.connId);
    const raw = ev.subarray(OFFSET.localAddr, OFFSET.localAddr + 32);
    const known = this.addrByConn.get(conn);
    if (known && known.raw.equals(raw)) return known;
    const entry = {
      raw: Buffer.from(raw),
      local: Buffer.from(formatAddr(ev, OFFSET.localAddr, family)),
      remote: Buffer.from(formatAddr(ev, OFFSET.remoteAddr, family)),
    };
    if (this.addrByConn.size > 200_000) this.addrByConn.clear();
    this.addrByConn.set(conn, entry);
    return entry;
  }

  /** The spool columns, in the order segmentWriter's SQL expects. */
  columns(): PlainColumn[] {
    const c = this.cols;
    const I32 = PHYSICAL.INT32, I64 = PHYSICAL.INT64, BA = PHYSICAL.BYTE_ARRAY;
    return [
      { name: 'mono_ns', type: I64, data: c.mono_ns.bytes() },
      { name: 'pid', type: I32, data: c.pid.bytes() },
      { name: 'tid', type: I32, data: c.tid.bytes() },
      { name: 'comm', type: BA, utf8: true, data: c.comm.bytes() },
      { name: 'fd', type: I32, data: c.fd.bytes() },
      { name: 'kind', type: I32, data: c.kind.bytes() },
      { name: 'syscall', type: I32, data: c.syscall.bytes() },
      { name: 'direction', type: I32, data: c.direction.bytes() },
      { name: 'conn_id', type: I64, data: c.conn_id.bytes() },
      { name: 'family', type: I32, data: c.family.bytes() },
      { name: 'local_addr', type: BA, utf8: true, data: c.local_addr.bytes() },
      { name: 'local_port', type: I32, data: c.local_port.bytes() },
      { name: 'remote_addr', type: BA, utf8: true, data: c.remote_addr.bytes() },
      { name: 'remote_port', type: I32, data: c.remote_port.bytes() },
      { name: 'netns', type: I64, data: c.netns.bytes() },
      { name: 'tcp_seq', type: I64, data: c.tcp_seq.bytes() },
      { name: 'bytes', type: I64, data: c.bytes.bytes() },
      { name: 'payload', type: BA, data: c.payload.bytes() },
    ];
  }

  reset(): void {
    for (const c of Object.values(this.cols)) c.reset();
    this.rows = 0;
    this.redacted = 0;
    this.firstMono = this.lastMono = null;
    this.pids.clear();
  }
}
