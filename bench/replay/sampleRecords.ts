/**
 * Replay input for the agent throughput benchmark: real OpenStack events (a shipped sample capture, Parquet) turned
 * back into the raw ring-buffer records the kernel side emits (capture/event.h, layout in capture/eventLayout.ts),
 * so the user-space consumer decodes, redacts and writes realistic payloads (HTTP, SQL, AMQP), not synthetic bytes.
 *
 * Tied to the record layout (capture/eventLayout.ts): offsets come from there; green-thread ids stay 0 (unknown),
 * as for processes without greenlet. A layout change beyond new offsets (a new mandatory field) changes this file.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { OFFSET, EVENT_HEADER_SIZE, EVENT_VERSION, RINGBUF_HEADER_SIZE, KIND_NAMES, DIRECTION_NAMES, SYSCALL_NAMES } from '../../capture/eventLayout.js';

const invert = (m: Record<number, string | null>): Map<string, number> => new Map(Object.entries(m).filter(([, v]) => v !== null).map(([k, v]) => [v!, Number(k)]));
const KIND = invert(KIND_NAMES);
const DIRECTION = invert(DIRECTION_NAMES);
const SYSCALL = invert(SYSCALL_NAMES);
const FAMILY = new Map([['ipv4', 2], ['ipv6', 10], ['inet', 2], ['inet6', 10]]);

function putAddr(rec: Buffer, off: number, addr: string | null): void {
  if (!addr) return;
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (v4) for (let i = 0; i < 4; i++) rec[off + i] = Number(v4[i + 1]);
  // IPv6 stays zero: the lab is IPv4 loopback only, and address text is cached per connection by the builder anyway
}

export interface ReplayFile {
  path: string;
  records: number;
  bytes: number;
  payload_bytes: number;
}

/**
 * Writes up to `maxEvents` events of `captureDir` (events/*.parquet) as raw records to `path`.
 * `withPayload` false writes every record with payload_len 0 (the "before payload" case).
 */
export async function buildReplayFile(captureDir: string, path: string, maxEvents: number, withPayload: boolean): Promise<ReplayFile> {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const sql = `SELECT mono_ns, conn_id, pid, tid, fd, bytes, tcp_seq, netns, local_port, remote_port, event, direction, family, syscall,
      local_addr, remote_addr, comm, payload
    FROM read_parquet('${captureDir.replaceAll("'", "''")}/events/*.parquet') ORDER BY mono_ns LIMIT ${maxEvents}`;
  const rows = (await con.runAndReadAll(sql)).getRows();
  con.closeSync();
  const fd = openSync(path, 'w');
  let bytes = 0;
  let payloadBytes = 0;
  try {
    for (const r of rows) {
      const [mono, conn, pid, tid, fdNum, nbytes, seq, netns, lport, rport, event, direction, family, syscall, laddr, raddr, comm, payload] = r as [
        bigint, bigint, number, number, number, bigint, bigint, bigint, number, number, string, string | null, string | null, string, string | null, string | null, string, { bytes: Uint8Array } | null,
      ];
      const pay = withPayload && payload ? Buffer.from(payload.bytes) : Buffer.alloc(0);
      const len = EVENT_HEADER_SIZE + pay.length;
      const total = (RINGBUF_HEADER_SIZE + len + 7) & ~7;
      const rec = Buffer.alloc(total);
      rec.writeUInt32LE(len, 0); // ring header: length, no busy/discard bit; page offset unused by the decoder
      const e = RINGBUF_HEADER_SIZE;
      rec.writeBigUInt64LE(BigInt(mono), e + OFFSET.tsMonoNs);
      rec.writeBigUInt64LE(BigInt.asUintN(64, BigInt(conn ?? 0n)), e + OFFSET.connId);
      rec.writeUInt32LE(pid >>> 0, e + OFFSET.pid);
      rec.writeUInt32LE(tid >>> 0, e + OFFSET.tid);
      rec.writeInt32LE(fdNum ?? -1, e + OFFSET.fd);
      rec.writeUInt32LE(Number(nbytes ?? 0n) >>> 0, e + OFFSET.bytes);
      rec.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(seq ?? 0n))), e + OFFSET.tcpSeq);
      rec.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(netns ?? 0n))), e + OFFSET.netns);
      rec.writeUInt16LE(lport ?? 0, e + OFFSET.localPort);
      rec.writeUInt16LE(rport ?? 0, e + OFFSET.remotePort);
      if (EVENT_VERSION >= 2) rec.writeUInt32LE(pay.length, e + OFFSET.payloadLen); // u16 in record version 1
      else rec.writeUInt16LE(pay.length, e + OFFSET.payloadLen);
      rec[e + OFFSET.kind] = KIND.get(event) ?? 1;
      rec[e + OFFSET.direction] = direction ? (DIRECTION.get(direction) ?? 0) : 0;
      rec[e + OFFSET.family] = family ? (FAMILY.get(family) ?? 2) : 0;
      rec[e + OFFSET.syscall] = SYSCALL.get(syscall) ?? 1;
      putAddr(rec, e + OFFSET.localAddr, laddr);
      putAddr(rec, e + OFFSET.remoteAddr, raddr);
      rec.write((comm ?? '').slice(0, 15), e + OFFSET.comm, 'latin1');
      pay.copy(rec, e + OFFSET.payload);
      writeSync(fd, rec);
      bytes += total;
      payloadBytes += pay.length;
    }
  } finally {
    closeSync(fd);
  }
  return { path, records: rows.length, bytes, payload_bytes: payloadBytes };
}
