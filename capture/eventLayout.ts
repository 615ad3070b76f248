/**
 * Offsets of the records of capture/event.h. Node reads `struct nt_event` (OFFSET), the self-contained events
 * the consumer writes; the kernel's compact records (KREC_*) appear here for the encoder used by tests and
 * benchmarks (recordEncoder.ts). eventLayout.test.ts checks all of them against the C compiler's offsets, so the
 * two languages cannot drift apart silently.
 */
export const EVENT_VERSION = 3;
export const EVENT_HEADER_SIZE = 120;
export const MAX_SNAPLEN = 65536;

export const OFFSET = {
  tsMonoNs: 0,
  connId: 8,
  pid: 16,
  tid: 20,
  fd: 24,
  bytes: 28,
  tcpSeq: 32,
  netns: 36,
  localPort: 40,
  remotePort: 42,
  payloadLen: 44,
  kind: 48,
  direction: 49,
  family: 50,
  syscall: 51,
  localAddr: 56,
  remoteAddr: 72,
  comm: 88,
  gid: 104,
  parentGid: 112,
  payload: 120,
} as const;

/** struct nt_krec_event: 40 bytes, then payload (kernel -> consumer). */
export const KREC_EVENT_SIZE = 40;
export const KREC_EVENT = {
  tsMonoNs: 0,
  gid: 8,
  conn: 16,
  tid: 20,
  bytes: 24,
  tcpSeq: 28,
  fd: 32,
  payloadLen: 36,
  kind: 38,
  info: 39,
} as const;
/** struct nt_krec_event.info: syscall in bits 0-4, direction in bits 5-6, payload length bit 16 in bit 7. */
export const INFO_LEN16 = 0x80;

/** struct nt_krec_conn (record type NT_REC_CONN at byte 38). */
export const KREC_CONN_SIZE = 72;
export const KREC_CONN = {
  connId: 0,
  conn: 8,
  netns: 12,
  localPort: 16,
  remotePort: 18,
  family: 20,
  kind: 38,
  localAddr: 40,
  remoteAddr: 56,
} as const;

/** struct nt_krec_thread (record type NT_REC_THREAD at byte 38). */
export const KREC_THREAD_SIZE = 40;
export const KREC_THREAD = { tid: 0, pid: 4, comm: 8, kind: 38 } as const;

/** Kernel-only record types (NT_REC_*), in the kind byte. */
export const REC_CONN = 100;
export const REC_THREAD = 101;

/** NT_KIND_* -> the `event` column. */
export const KIND_NAMES: Record<number, string> = { 1: 'data', 2: 'connect', 3: 'accept', 4: 'close', 5: 'block', 6: 'green_spawn' };
/** NT_DIR_* -> the `direction` column. */
export const DIRECTION_NAMES: Record<number, string | null> = { 0: null, 1: 'send', 2: 'recv' };
/** NT_SYS_* -> the `syscall` column (0, for green_spawn, is NULL). */
export const SYSCALL_NAMES: Record<number, string> = {
  1: 'read', 2: 'readv', 3: 'recvfrom', 4: 'recvmsg', 5: 'recvmmsg', 6: 'write', 7: 'writev', 8: 'sendto',
  9: 'sendmsg', 10: 'sendmmsg', 11: 'sendfile', 12: 'connect', 13: 'accept', 14: 'accept4', 15: 'close',
  16: 'untracked', 17: 'shutdown', 18: 'exit',
};
/** Counter indexes (NT_CNT_*), in the order the agent reports them. */
export const COUNTER_NAMES = ['kernel_emitted', 'ringbuf_drops', 'payload_faults', 'active_map_full', 'filtered_in_kernel', 'green_switches'];

/** BPF ring buffer record header (kernel/bpf/ringbuf.c): u32 length with two flag bits, u32 page offset. */
export const RINGBUF_HEADER_SIZE = 8;
export const RINGBUF_BUSY_BIT = 0x80000000;
export const RINGBUF_DISCARD_BIT = 0x40000000;
