/**
 * What the socket-layer probes see of socket I/O that is not a plain read/write/send/recv (docs/capture.md,
 * "What is covered"): sendfile, sendmmsg/recvmmsg, io_uring. Each case checks bytes and TCP sequence numbers
 * exactly, and what the row says about the payload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageRoot } from '../core/version.js';
import { nitrace, query, isRoot, PYTHON } from '../testing/liveTestHelpers.js';

const skip = isRoot ? false : 'needs root to load eBPF probes (CI runs as root)';

// sendfile of a 100 000-byte file, then sendmmsg of 3 messages and recvmmsg of them, on loopback TCP.
const SCRIPT = `
import ctypes, os, socket, sys, tempfile
libc = ctypes.CDLL('libc.so.6', use_errno=True)
class iovec(ctypes.Structure): _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
class msghdr(ctypes.Structure): _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint32), ('iov', ctypes.POINTER(iovec)), ('iovlen', ctypes.c_size_t), ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t), ('flags', ctypes.c_int)]
class mmsghdr(ctypes.Structure): _fields_ = [('hdr', msghdr), ('len', ctypes.c_uint)]
def vec(bufs):
    v = (mmsghdr * len(bufs))()
    keep = []
    for i, b in enumerate(bufs):
        iov = iovec(ctypes.cast(b, ctypes.c_void_p), len(b))
        keep.append(iov)
        v[i].hdr.iov = ctypes.pointer(iov); v[i].hdr.iovlen = 1
    return v, keep
srv = socket.create_server(('127.0.0.1', 0))
c = socket.create_connection(srv.getsockname()); s, _ = srv.accept()
f = tempfile.TemporaryFile(); f.write(b'f' * 100000); f.flush()
assert os.sendfile(c.fileno(), f.fileno(), 0, 100000) == 100000
got = 0
while got < 100000: got += len(s.recv(1 << 20))
msgs = [ctypes.create_string_buffer(b'm%d' % i * 100, 300) for i in range(3)]
v, keep = vec(msgs)
assert libc.sendmmsg(c.fileno(), v, 3, 0) == 3, ctypes.get_errno()
import time; time.sleep(0.2)
rb = [ctypes.create_string_buffer(900) for _ in range(3)]
rv, keep2 = vec(rb)
n = libc.recvmmsg(s.fileno(), rv, 3, 0x10000, None)  # MSG_WAITFORONE
assert n >= 1, ctypes.get_errno()
print(c.getsockname()[1], srv.getsockname()[1])
`;

test('sendfile, sendmmsg/recvmmsg and io_uring: bytes and sequence numbers exact; which rows carry fd and payload', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-cover-'));
  try {
    const uring = join(dir, 'uring_send');
    execFileSync('cc', ['-O2', '-o', uring, join(packageRoot, 'capture', 'testdata', 'uring_send.c')]);
    const out = join(dir, 'cap');
    const r = await nitrace(['capture', '--out', out, '--', 'sh', '-c', `${PYTHON} -c "$0" && ${uring} 3000`, SCRIPT]);
    assert.equal(r.code, 0, r.stderr);
    const events = `read_parquet('${out}/events/*.parquet')`;
    const rows = await query<[string, string, number, bigint, bigint, bigint, number, number]>(`SELECT comm, syscall, fd, bytes, tcp_seq,
        octet_length(payload), local_port, remote_port FROM ${events} WHERE event = 'data' AND direction = 'send' AND local_addr = '127.0.0.1'
        AND comm IN ('python3', 'uring_send') ORDER BY mono_ns`);
    // sendfile: one or more rows (the kernel sends the file in pieces), no payload, all bytes, contiguous sequence numbers.
    const sendfile = rows.filter(([, sys]) => sys === 'sendfile');
    assert.ok(sendfile.length >= 1);
    assert.equal(sendfile.reduce((n, x) => n + Number(x[3]), 0), 100000);
    for (let i = 1; i < sendfile.length; i++) assert.equal(Number(sendfile[i]![4]), Number(sendfile[i - 1]![4]) + Number(sendfile[i - 1]![3]));
    assert.ok(sendfile.every((x) => x[2] >= 3 && Number(x[5]) === 0), 'fd known, no payload');
    // sendmmsg: one row per message, 300 bytes each, no payload.
    const mmsg = rows.filter(([, sys]) => sys === 'sendmmsg');
    assert.deepEqual(mmsg.map((x) => [Number(x[3]), Number(x[5])]), [[300, 0], [300, 0], [300, 0]]);
    assert.ok(mmsg.every((x) => x[2] >= 3));
    const [[recvmmsgBytes]] = await query<[bigint]>(`SELECT sum(bytes) FROM ${events} WHERE syscall = 'recvmmsg'`);
    assert.ok(Number(recvmmsgBytes) >= 300, 'recvmmsg rows too');
    // io_uring: the send is made by the kernel for the ring, not by a syscall with the socket's fd: untracked.
    const ur = rows.filter(([comm]) => comm === 'uring_send');
    assert.deepEqual(ur.map((x) => [x[1], x[2], Number(x[3]), Number(x[5])]), [['untracked', -1, 3000, 0]]);
    const [[peerSeq]] = await query<[bigint]>(`SELECT tcp_seq FROM ${events} WHERE comm = 'uring_send' AND direction = 'recv' AND syscall = 'read' ORDER BY mono_ns LIMIT 1`);
    assert.equal(ur[0]![4], peerSeq, 'its sequence number matches the read on the other side');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
