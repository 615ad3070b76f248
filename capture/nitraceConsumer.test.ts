/**
 * capture/nitrace_consumer.c on recorded kernel records (no kernel needed): compact records in, self-contained
 * events out, exactly as recordDecoder.ts and segmentBuilder.ts read them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageRoot } from '../core/version.js';
import { RecordEncoder } from './recordEncoder.js';
import { RecordDecoder } from './recordDecoder.js';
import { OFFSET, EVENT_HEADER_SIZE } from './eventLayout.js';

const KIND = { data: 1, connect: 2, close: 4, block: 5, green_spawn: 6 };
const SYS = { recvfrom: 3, sendto: 8, connect: 12, close: 15 };
const SEND = 1;
const RECV = 2;

interface Decoded {
  ts: bigint; connId: bigint; pid: number; tid: number; fd: number; bytes: number; seq: number; netns: number; lport: number;
  rport: number; kind: number; direction: number; family: number; syscall: number; laddr: string; comm: string; gid: bigint;
  parentGid: bigint; payload: Buffer;
}

function consume(input: Buffer): { events: Decoded[]; stats: Record<string, number | boolean> } {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-consumer-'));
  try {
    const bin = join(dir, 'nitrace_consumer');
    execFileSync('cc', ['-O2', '-pthread', '-o', bin, join(packageRoot, 'capture', 'nitrace_consumer.c')]);
    // Stats go to fd 3 (a pipe the test reads), events to stdout.
    const r = spawnSync(bin, ['--input', '-', '--stats-fd', '3'], { input: input, stdio: ['pipe', 'pipe', 'inherit', 'pipe'], maxBuffer: 1 << 28 });
    assert.equal(r.status, 0);
    const statsLines = String(r.output[3]).trim().split('\n');
    const stats = JSON.parse(statsLines.at(-1)!) as Record<string, number | boolean>;
    const events: Decoded[] = [];
    new RecordDecoder().push(r.stdout, (b, o) => {
      const len = b.readUInt32LE(o + OFFSET.payloadLen);
      let end = 0;
      while (end < 16 && b[o + OFFSET.comm + end] !== 0) end++;
      events.push({
        ts: b.readBigUInt64LE(o + OFFSET.tsMonoNs), connId: b.readBigUInt64LE(o + OFFSET.connId), pid: b.readUInt32LE(o + OFFSET.pid),
        tid: b.readUInt32LE(o + OFFSET.tid), fd: b.readInt32LE(o + OFFSET.fd), bytes: b.readUInt32LE(o + OFFSET.bytes),
        seq: b.readUInt32LE(o + OFFSET.tcpSeq), netns: b.readUInt32LE(o + OFFSET.netns), lport: b.readUInt16LE(o + OFFSET.localPort),
        rport: b.readUInt16LE(o + OFFSET.remotePort), kind: b[o + OFFSET.kind]!, direction: b[o + OFFSET.direction]!,
        family: b[o + OFFSET.family]!, syscall: b[o + OFFSET.syscall]!, laddr: [...b.subarray(o + OFFSET.localAddr, o + OFFSET.localAddr + 4)].join('.'),
        comm: b.toString('latin1', o + OFFSET.comm, o + OFFSET.comm + end), gid: b.readBigUInt64LE(o + OFFSET.gid),
        parentGid: b.readBigUInt64LE(o + OFFSET.parentGid), payload: Buffer.from(b.subarray(o + EVENT_HEADER_SIZE, o + EVENT_HEADER_SIZE + len)),
      });
    });
    return { events, stats };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('consumer: connection and thread records are joined into every event; payloads up to 65536 bytes pass whole', () => {
  const big = Buffer.alloc(65536, 0).map((_, i) => i % 251);
  const enc = new RecordEncoder()
    .thread(101, 100, 'nova-conductor')
    .conn({ conn: 0x100, connId: 0x7123456789abcdefn, netns: 4026531840, localAddr: '10.0.0.1', localPort: 41000, remoteAddr: '10.0.0.2', remotePort: 5672 })
    .event({ ts: 10n, kind: KIND.connect, syscall: SYS.connect, tid: 101, conn: 0x100, fd: 7, gid: 5n })
    .event({ ts: 11n, kind: KIND.data, syscall: SYS.sendto, direction: SEND, tid: 101, conn: 0x100, fd: 7, tcpSeq: 1000, payload: Buffer.from('hello'), gid: 5n })
    .event({ ts: 12n, kind: KIND.block, syscall: SYS.recvfrom, direction: RECV, tid: 101, conn: 0x100, fd: 7, bytes: 0, tcpSeq: 2000, gid: 6n })
    .event({ ts: 13n, kind: KIND.data, syscall: SYS.recvfrom, direction: RECV, tid: 101, conn: 0x100, fd: 7, bytes: 70000, tcpSeq: 2000, payload: big, gid: 6n })
    .event({ ts: 14n, kind: KIND.green_spawn, syscall: 0, tid: 101, gid: 0x7000000000000009n, parentGid: 0x7000000000000005n })
    .thread(101, 100, 'renamed')
    .event({ ts: 15n, kind: KIND.close, syscall: SYS.close, tid: 101, conn: 0x100, fd: 7 });
  const { events, stats } = consume(enc.bytes());
  assert.deepEqual(events.map((e) => e.ts), [10n, 11n, 12n, 13n, 14n, 15n]);
  for (const e of events.filter((x) => x.kind !== KIND.green_spawn)) {
    assert.deepEqual([e.connId, e.netns, e.lport, e.rport, e.family, e.laddr, e.pid], [0x7123456789abcdefn, 4026531840, 41000, 5672, 2, '10.0.0.1', 100]);
  }
  const [connect, send, block, recv, spawn, close] = events as [Decoded, Decoded, Decoded, Decoded, Decoded, Decoded];
  assert.deepEqual([connect.kind, connect.syscall, connect.fd, connect.gid, connect.comm], [KIND.connect, SYS.connect, 7, 5n, 'nova-conductor']);
  assert.deepEqual([send.direction, send.bytes, send.seq, send.payload.toString()], [SEND, 5, 1000, 'hello']);
  assert.deepEqual([block.kind, block.direction, block.bytes, block.seq, block.payload.length, block.gid], [KIND.block, RECV, 0, 2000, 0, 6n]);
  assert.equal(recv.bytes, 70000);
  assert.ok(recv.payload.equals(big), 'the 65536-byte payload passes whole');
  assert.deepEqual([spawn.kind, spawn.gid, spawn.parentGid, spawn.connId, spawn.bytes, spawn.fd], [KIND.green_spawn, 0x7000000000000009n, 0x7000000000000005n, 0n, 0, -1]);
  assert.equal(close.comm, 'renamed', 'a thread record sent again (rename) applies to later events');
  assert.equal(stats.final, true);
  assert.deepEqual([stats.records, stats.events, stats.events_written, stats.conns, stats.threads, stats.unknown_conn, stats.unknown_thread], [9, 6, 6, 1, 2, 0, 0]);
});

test('consumer: events naming a connection or thread it never saw keep their own fields and are counted', () => {
  const enc = new RecordEncoder().event({ ts: 1n, kind: KIND.data, syscall: SYS.sendto, direction: SEND, tid: 7, conn: 0x999, fd: 3, tcpSeq: 5, payload: Buffer.from('x') });
  const { events, stats } = consume(enc.bytes());
  assert.equal(events.length, 1);
  assert.deepEqual([events[0]!.connId, events[0]!.family, events[0]!.pid, events[0]!.tid, events[0]!.payload.toString()], [0n, 0, 7, 7, 'x']);
  assert.deepEqual([stats.unknown_conn, stats.unknown_thread], [1, 1]);
});

test('consumer: a long stream of mixed sizes arrives complete and in order', () => {
  const enc = new RecordEncoder().thread(1, 1, 't').conn({ conn: 0x100, connId: 1n, netns: 1, localAddr: '127.0.0.1', localPort: 1, remoteAddr: '127.0.0.1', remotePort: 2 });
  const sizes = Array.from({ length: 20000 }, (_, i) => [0, 1, 7, 100, 512, 4097, 20000][i % 7]!);
  sizes.forEach((n, i) => enc.event({ ts: BigInt(i), kind: KIND.data, syscall: SYS.sendto, direction: SEND, tid: 1, conn: 0x100, fd: 3, tcpSeq: i, payload: Buffer.alloc(n, i % 256) }));
  const { events, stats } = consume(enc.bytes());
  assert.equal(events.length, sizes.length);
  events.forEach((e, i) => {
    assert.equal(e.seq, i);
    assert.equal(e.payload.length, sizes[i]);
    if (e.payload.length) assert.equal(e.payload[e.payload.length - 1], i % 256);
  });
  assert.equal(stats.events_written, sizes.length);
});
