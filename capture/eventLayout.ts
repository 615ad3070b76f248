/**
 * Offsets of `struct nt_event` (capture/event.h), for decoding ring-buffer records in user space.
 * eventLayout.test.ts checks these against the C header, so the two cannot drift apart silently.
 */
export const EVENT_VERSION = 2;
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

/** NT_KIND_* -> the `event` column. */
export const KIND_NAMES: Record<number, string> = { 1: 'data', 2: 'connect', 3: 'accept', 4: 'close', 5: 'block', 6: 'green_spawn' };
/** NT_DIR_* -> the `direction` column. */
export const DIRECTION_NAMES: Record<number, string | null> = { 0: null, 1: 'send', 2: 'recv' };
/** NT_SYS_* -> the `syscall` column (0, for green_spawn, is NULL). */
export const SYSCALL_NAMES: Record<number, string> = {
  1: 'read', 2: 'readv', 3: 'recvfrom', 4: 'recvmsg', 5: 'recvmmsg', 6: 'write', 7: 'writev', 8: 'sendto',
  9: 'sendmsg', 10: 'sendmmsg', 11: 'sendfile', 12: 'connect', 13: 'accept', 14: 'accept4', 15: 'close',
  16: 'untracked',
};
/** Counter indexes (NT_CNT_*), in the order the agent reports them. */
export const COUNTER_NAMES = ['kernel_emitted', 'ringbuf_drops', 'payload_faults', 'active_map_full', 'filtered_in_kernel', 'green_switches'];

/** BPF ring buffer record header (kernel/bpf/ringbuf.c): u32 length with two flag bits, u32 page offset. */
export const RINGBUF_HEADER_SIZE = 8;
export const RINGBUF_BUSY_BIT = 0x80000000;
export const RINGBUF_DISCARD_BIT = 0x40000000;
