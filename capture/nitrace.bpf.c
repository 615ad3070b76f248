/*
 * nitrace.bpf.c - kernel side of `nitrace capture`: TCP socket I/O of chosen processes, with payload heads.
 *
 * How it traces (no kprobes: CONFIG_KPROBES is off on the target kernels; see docs/capture.md):
 *   sys_enter_<io syscall>     remember the syscall's fd and user buffer for this thread (map `active`)
 *   sock:sock_{send,recv}_length  fires inside the syscall only for sockets: keep TCP ones, read the 4-tuple,
 *                              netns and TCP sequence from `struct sock` at offsets taken from the running
 *                              kernel's BTF (-D OFF_* from capture/btf_offsets.py; headers may be of another kernel)
 *   sys_exit_<io syscall>      copy up to SNAPLEN (or the --snaplen-port size) payload bytes from user memory,
 *                              emit one event to the ring buffer; -EAGAIN on a traced socket is a `block` event
 *   connect / accept / close   lifecycle events; sock:inet_sock_set_state(SYN_SENT) ties connect() to its socket
 *   sched:sched_process_fork   children of --pid processes are traced too (uwsgi/glance respawn workers)
 *   uprobes in greenlet        (capture/agent.py attaches them to each greenlet library traced processes map)
 *                              keep the running greenlet per thread (`current_gid`), stamped on every event as gid;
 *                              a new greenlet is a `green_spawn` event
 * Filtering (processes, ports, netns) happens here, in the kernel. Every loss is counted in `counters`.
 *
 * Compile-time parameters (BCC cflags, set by capture/agent.py): SNAPLEN, SNAPLEN_PORTS (per-port sizes in map
 * `snaplen_ports`), RINGBUF_PAGES, CONN_SALT, NCPUS, FILTER_TASKS (pid or comm selection active), FILTER_PORT,
 * FILTER_NETNS, and the OFF_* struct offsets. Print the final program with `nitrace capture --ebpf`.
 */
#include <uapi/linux/ptrace.h>
#include "event.h"

#define AF_INET_ 2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6
#define TCP_SYN_SENT_ 2
#define TCP_TIME_WAIT_ 6
#define TCP_CLOSE_ 7
#define TCP_CLOSE_WAIT_ 8
#define TCP_LAST_ACK_ 9
#define TCP_CLOSING_ 11
#define MSG_PEEK_ 2
#define EINPROGRESS_ 115
#define EAGAIN_ 11
/* greenlet 2.0.x: `struct _greenlet` (the Python object) is PyObject_HEAD, weakreflist, dict, then `pimpl`, the
 * C++ greenlet::Greenlet whose address is the gid (checked by disassembling Greenlet::Greenlet(_greenlet*)). */
#define PYGREENLET_PIMPL_OFFSET 32
#define NT_MAX_IOV 8

/* How the syscall passes its buffer. */
#define BUF_NONE 0   /* sendfile, connect, accept */
#define BUF_PLAIN 1  /* read, write, recvfrom, sendto */
#define BUF_IOV 2    /* readv, writev */
#define BUF_MSGHDR 3 /* recvmsg, sendmsg */
#define BUF_MMSG 4   /* recvmmsg, sendmmsg: first message only */

struct active_t {
	u64 buf;
	u64 sk;
	u32 bytes;
	u32 iovcnt;
	s32 fd;
	u32 seq;
	u32 netns;
	u16 lport;
	u16 rport;
	u8 syscall;
	u8 direction;
	u8 mode;
	u8 family;
	u8 dropped; /* not TCP, or filtered out: the exit handler just forgets the syscall */
	u8 blocked; /* the socket layer returned -EAGAIN: a `block` event if the syscall does too */
	u8 pad[2];
	u8 laddr[16];
	u8 raddr[16];
};

/* What close() needs to report a socket, remembered per (tgid, fd) from data and connect events. */
struct fd_sock_t {
	u64 sk;
	u32 netns;
	u16 lport;
	u16 rport;
	u8 family;
	u8 pad[7];
	u8 laddr[16];
	u8 raddr[16];
};

struct comm_key_t {
	char comm[16];
};

struct nt_iovec {
	u64 base;
	u64 len;
};

/* Event header + payload. The payload area is larger than NT_MAX_SNAPLEN only so that masked offsets and
 * lengths stay provably inside the buffer for the verifier. One per CPU, in a plain array indexed by CPU:
 * a per-CPU map value is limited to 32 KiB. */
struct scratch_t {
	struct nt_event ev;
	u8 payload[3 * NT_MAX_SNAPLEN];
};

BPF_HASH(active, u32, struct active_t, 16384);
BPF_TABLE("lru_hash", u64, struct fd_sock_t, fd_socks, 65536);
BPF_ARRAY(scratch, struct scratch_t, NCPUS);
BPF_TABLE("lru_hash", u32, u64, current_gid, 65536); /* tid -> running greenlet (address xor salt) */
BPF_HASH(snaplen_ports, u16, u32, 256);
BPF_PERCPU_ARRAY(counters, u64, NT_CNT_MAX);
BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_HASH(excluded_pids, u32, u8, 64);
BPF_HASH(pid_filter, u32, u8, 8192);
BPF_HASH(comm_filter, struct comm_key_t, u8, 64);
BPF_HASH(port_filter, u16, u8, 256);
BPF_HASH(netns_filter, u32, u8, 64);

/* Bound a copy length for the verifier. The empty asm hides the value's known range from clang, which would
 * otherwise drop the mask as redundant and leave the verifier with an unbounded register. */
static __always_inline u32 copy_len(u32 n)
{
	asm volatile("" : "+r"(n));
	return n & (2 * NT_MAX_SNAPLEN - 1);
}

static __always_inline struct scratch_t *scratch_area(void)
{
	u32 cpu = bpf_get_smp_processor_id();
	return scratch.lookup(&cpu);
}

/* A greenlet's identity in the capture: its address, salted (opaque, fits a signed BIGINT). */
static __always_inline u64 green_id(u64 addr)
{
	return addr ? ((addr ^ CONN_SALT) & 0x7fffffffffffffffULL) : 0;
}

static __always_inline void count(u32 index)
{
	u64 *c = counters.lookup(&index);
	if (c)
		(*c)++;
}

/* Is the current process one we trace? --pid and --comm select processes (either matches); none: all. */
static __always_inline int traced_task(u32 tgid)
{
	if (excluded_pids.lookup(&tgid))
		return 0;
#if FILTER_TASKS
	if (pid_filter.lookup(&tgid))
		return 1;
	struct comm_key_t key = {};
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	return comm_filter.lookup(&key) != 0;
#else
	return 1;
#endif
}

static __always_inline int enter(s32 fd, u64 buf, u32 iovcnt, u8 syscall, u8 direction, u8 mode)
{
	u64 id = bpf_get_current_pid_tgid();
	if (!traced_task(id >> 32))
		return 0;
	u32 tid = (u32)id;
	struct active_t a = {};
	a.fd = fd;
	a.buf = buf;
	a.iovcnt = iovcnt;
	a.syscall = syscall;
	a.direction = direction;
	a.mode = mode;
	if (active.update(&tid, &a) != 0)
		count(NT_CNT_ACTIVE_FULL);
	return 0;
}

/* 4-tuple and netns of a socket, from `struct sock_common` at BTF offsets. */
static __always_inline void read_tuple(void *sk, u8 *family, u16 *lport, u16 *rport, u8 *laddr, u8 *raddr, u32 *netns)
{
	u16 fam = 0, dport = 0, num = 0;
	bpf_probe_read_kernel(&fam, sizeof(fam), sk + OFF_SKC_FAMILY);
	bpf_probe_read_kernel(&dport, sizeof(dport), sk + OFF_SKC_DPORT);
	bpf_probe_read_kernel(&num, sizeof(num), sk + OFF_SKC_NUM);
	*family = (u8)fam;
	*rport = __builtin_bswap16(dport);
	*lport = num;
	if (fam == AF_INET6_) {
		bpf_probe_read_kernel(laddr, 16, sk + OFF_SKC_V6_RCV_SADDR);
		bpf_probe_read_kernel(raddr, 16, sk + OFF_SKC_V6_DADDR);
	} else {
		bpf_probe_read_kernel(laddr, 4, sk + OFF_SKC_RCV_SADDR);
		bpf_probe_read_kernel(raddr, 4, sk + OFF_SKC_DADDR);
	}
	void *net = 0;
	bpf_probe_read_kernel(&net, sizeof(net), sk + OFF_SKC_NET);
	*netns = 0;
	if (net)
		bpf_probe_read_kernel(netns, sizeof(*netns), net + OFF_NET_NS_INUM);
}

/* --port / --netns: does this socket pass? */
static __always_inline int socket_selected(u16 lport, u16 rport, u32 netns)
{
#if FILTER_PORT
	if (!port_filter.lookup(&lport) && !port_filter.lookup(&rport))
		return 0;
#endif
#if FILTER_NETNS
	if (!netns_filter.lookup(&netns))
		return 0;
#endif
	return 1;
}

/* TCP sequence number of the first byte this call moved: the counters already include the call's bytes. */
static __always_inline u32 first_seq(void *sk, u8 direction, u32 len)
{
	u32 seq = 0;
	bpf_probe_read_kernel(&seq, sizeof(seq), sk + (direction == NT_DIR_SEND ? OFF_TCP_WRITE_SEQ : OFF_TCP_COPIED_SEQ));
	u32 first = seq - len;
	if (direction == NT_DIR_RECV) {
		/* A read that reaches the peer's FIN advances copied_seq one more (the FIN takes a sequence number):
		 * the peer has closed and everything up to rcv_nxt has been read. */
		u32 rcv_nxt = 0;
		u8 state = 0;
		bpf_probe_read_kernel(&rcv_nxt, sizeof(rcv_nxt), sk + OFF_TCP_RCV_NXT);
		bpf_probe_read_kernel(&state, sizeof(state), sk + OFF_SKC_STATE);
		if (rcv_nxt == seq && (state == TCP_CLOSE_WAIT_ || state == TCP_LAST_ACK_ || state == TCP_CLOSING_ ||
				       state == TCP_TIME_WAIT_ || state == TCP_CLOSE_))
			first -= 1;
	}
	return first;
}

static __always_inline void fill_header(struct nt_event *ev, u64 id, struct active_t *a, u8 kind);
static __always_inline int emit(struct scratch_t *s, u32 payload_len);

/*
 * Socket I/O by a thread whose syscall entered before the probes were attached (typically a server thread
 * blocked in recv when the capture starts). The user buffer is unknown, so the event has no payload; its bytes
 * and TCP sequence number still let analysis take the payload from the peer's send of the same bytes.
 */
static __always_inline int emit_untracked(u64 id, void *sk, u16 family, u16 protocol, int ret, int flags, u8 direction)
{
	if (protocol != IPPROTO_TCP_ || (family != AF_INET_ && family != AF_INET6_) || ret <= 0)
		return 0;
	if ((direction == NT_DIR_RECV && (flags & MSG_PEEK_)) || !traced_task(id >> 32))
		return 0;
	struct active_t a = {};
	a.sk = (u64)sk;
	a.fd = -1;
	a.direction = direction;
	a.syscall = NT_SYS_UNTRACKED;
	read_tuple(sk, &a.family, &a.lport, &a.rport, a.laddr, a.raddr, &a.netns);
	if (!socket_selected(a.lport, a.rport, a.netns))
		return 0;
	a.seq = first_seq(sk, direction, (u32)ret);
	struct scratch_t *s = scratch_area();
	if (!s)
		return 0;
	fill_header(&s->ev, id, &a, NT_KIND_DATA);
	s->ev.bytes = (u32)ret;
	emit(s, 0);
	return 0;
}

/* Inside a socket syscall: this is a socket; keep it if TCP and selected, and read its identity once. */
static __always_inline int on_sock_length(void *sk, u16 family, u16 protocol, int ret, int flags, u8 direction)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct active_t *a = active.lookup(&tid);
	if (!a)
		return emit_untracked(id, sk, family, protocol, ret, flags, direction);
	if (a->dropped || a->direction != direction)
		return 0;
	if (protocol != IPPROTO_TCP_ || (family != AF_INET_ && family != AF_INET6_)) {
		a->dropped = 1;
		return 0;
	}
	if (direction == NT_DIR_RECV && (flags & MSG_PEEK_))
		return 0;
	if (ret == -EAGAIN_ && !a->sk)
		a->blocked = 1; /* nothing to read / no room: the exit handler emits `block` if the syscall fails too */
	else if (ret <= 0)
		return 0;
	else
		a->bytes += ret;
	if (a->sk)
		return 0; /* *mmsg: the tuple was read for the first message */
	a->sk = (u64)sk;
	read_tuple(sk, &a->family, &a->lport, &a->rport, a->laddr, a->raddr, &a->netns);
	if (!socket_selected(a->lport, a->rport, a->netns)) {
		a->dropped = 1;
		count(NT_CNT_FILTERED);
		return 0;
	}
	a->seq = first_seq(sk, direction, ret > 0 ? (u32)ret : 0);
	return 0;
}

TRACEPOINT_PROBE(sock, sock_send_length)
{
	return on_sock_length(args->sk, args->family, args->protocol, args->ret, args->flags, NT_DIR_SEND);
}

TRACEPOINT_PROBE(sock, sock_recv_length)
{
	return on_sock_length(args->sk, args->family, args->protocol, args->ret, args->flags, NT_DIR_RECV);
}

/* Copy up to `want` bytes gathered from an iovec array in user memory into the payload area. */
static __always_inline u32 copy_iov(u8 *payload, u64 iovp, u32 iovcnt, u32 want)
{
	u32 off = 0;
#pragma unroll
	for (int i = 0; i < NT_MAX_IOV; i++) {
		if (i >= iovcnt || off >= want)
			break;
		struct nt_iovec iov = {};
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(iovp + i * sizeof(iov))) != 0)
			break;
		u32 n = want - off;
		if (iov.len < n)
			n = (u32)iov.len;
		if (n == 0)
			continue;
		if (bpf_probe_read_user(payload + (off & (NT_MAX_SNAPLEN - 1)), copy_len(n), (void *)iov.base) != 0)
			break;
		off += n;
	}
	return off;
}

static __always_inline void remember_fd(u32 tgid, s32 fd, struct active_t *a)
{
	u64 key = ((u64)tgid << 32) | (u32)fd;
	struct fd_sock_t *known = fd_socks.lookup(&key);
	if (known && known->sk == a->sk)
		return;
	struct fd_sock_t s = {};
	s.sk = a->sk;
	s.netns = a->netns;
	s.lport = a->lport;
	s.rport = a->rport;
	s.family = a->family;
	__builtin_memcpy(s.laddr, a->laddr, 16);
	__builtin_memcpy(s.raddr, a->raddr, 16);
	fd_socks.update(&key, &s);
}

/* Fill the common header fields of an event from a syscall in flight. */
static __always_inline void fill_header(struct nt_event *ev, u64 id, struct active_t *a, u8 kind)
{
	ev->ts_mono_ns = bpf_ktime_get_ns();
	ev->conn_id = a->sk ? ((a->sk ^ CONN_SALT) & 0x7fffffffffffffffULL) : 0; /* fits a signed BIGINT */
	ev->pid = id >> 32;
	ev->tid = (u32)id;
	ev->fd = a->fd;
	ev->tcp_seq = a->seq;
	ev->netns = a->netns;
	ev->local_port = a->lport;
	ev->remote_port = a->rport;
	ev->kind = kind;
	ev->direction = a->direction;
	ev->family = a->family;
	ev->syscall = a->syscall;
	__builtin_memcpy(ev->local_addr, a->laddr, 16);
	__builtin_memcpy(ev->remote_addr, a->raddr, 16);
	bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
	u32 tid = (u32)id;
	u64 *gid = current_gid.lookup(&tid);
	ev->gid = gid ? *gid : 0;
	ev->parent_gid = 0;
}

static __always_inline int emit(struct scratch_t *s, u32 payload_len)
{
	s->ev.payload_len = payload_len;
	u32 size = NT_EVENT_HEADER_SIZE + copy_len(payload_len);
	/* Waking the agent for an event costs the traced thread more than the event itself: never wake it; it
	 * polls every 20 ms (capture/agent.py POLL_SECONDS), and the ring holds seconds of events. */
	if (events.ringbuf_output(&s->ev, size, BPF_RB_NO_WAKEUP) != 0) {
		count(NT_CNT_RINGBUF_DROP);
		return 0;
	}
	count(NT_CNT_EMITTED);
	return 1;
}

/* Payload bytes to keep for this socket: --snaplen-port PORT=N for its local or remote port, else --snaplen. */
static __always_inline u32 snaplen_of(struct active_t *a)
{
#if SNAPLEN_PORTS
	u32 *n = snaplen_ports.lookup(&a->lport);
	if (!n)
		n = snaplen_ports.lookup(&a->rport);
	if (n)
		return *n;
#endif
	return SNAPLEN;
}

static __always_inline int exit_io(long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct active_t *a = active.lookup(&tid);
	if (!a)
		return 0;
	if (!a->sk || a->dropped)
		goto done;
	if (ret == -EAGAIN_ && a->blocked) {
		struct scratch_t *s = scratch_area();
		if (s) {
			fill_header(&s->ev, id, a, NT_KIND_BLOCK);
			s->ev.bytes = 0;
			emit(s, 0);
			remember_fd(id >> 32, a->fd, a);
		}
		goto done;
	}
	if (ret <= 0)
		goto done;
	struct scratch_t *s = scratch_area();
	if (!s)
		goto done;
	fill_header(&s->ev, id, a, NT_KIND_DATA);
	/* *mmsg return a message count; the byte count is what the socket layer reported. */
	u32 bytes = a->mode == BUF_MMSG ? a->bytes : (u32)ret;
	s->ev.bytes = bytes;
	u32 snaplen = snaplen_of(a);
	u32 want = bytes < snaplen ? bytes : snaplen;
	u32 got = 0;
	if (a->mode == BUF_PLAIN) {
		if (bpf_probe_read_user(s->payload, copy_len(want), (void *)a->buf) == 0)
			got = want;
	} else if (a->mode == BUF_IOV) {
		got = copy_iov(s->payload, a->buf, a->iovcnt, want);
	} else if (a->mode == BUF_MSGHDR || a->mode == BUF_MMSG) {
		/* struct user_msghdr (x86_64 ABI): msg_iov at 16, msg_iovlen at 24; struct mmsghdr: msg_len at 56. */
		u64 iovp = 0, iovlen = 0;
		bpf_probe_read_user(&iovp, sizeof(iovp), (void *)(a->buf + 16));
		bpf_probe_read_user(&iovlen, sizeof(iovlen), (void *)(a->buf + 24));
		if (a->mode == BUF_MMSG) {
			u32 first_len = 0;
			bpf_probe_read_user(&first_len, sizeof(first_len), (void *)(a->buf + 56));
			if (first_len < want)
				want = first_len;
		}
		got = copy_iov(s->payload, iovp, (u32)iovlen, want);
	}
	if (got < want && a->mode != BUF_NONE)
		count(NT_CNT_PAYLOAD_FAULT);
	emit(s, got);
	remember_fd(id >> 32, a->fd, a);
done:
	active.delete(&tid);
	return 0;
}

/* ---- data syscalls ---- */
TRACEPOINT_PROBE(syscalls, sys_enter_read) { return enter(args->fd, (u64)args->buf, 0, NT_SYS_READ, NT_DIR_RECV, BUF_PLAIN); }
TRACEPOINT_PROBE(syscalls, sys_enter_readv) { return enter(args->fd, (u64)args->vec, args->vlen, NT_SYS_READV, NT_DIR_RECV, BUF_IOV); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvfrom) { return enter(args->fd, (u64)args->ubuf, 0, NT_SYS_RECVFROM, NT_DIR_RECV, BUF_PLAIN); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvmsg) { return enter(args->fd, (u64)args->msg, 0, NT_SYS_RECVMSG, NT_DIR_RECV, BUF_MSGHDR); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvmmsg) { return enter(args->fd, (u64)args->mmsg, 0, NT_SYS_RECVMMSG, NT_DIR_RECV, BUF_MMSG); }
TRACEPOINT_PROBE(syscalls, sys_enter_write) { return enter(args->fd, (u64)args->buf, 0, NT_SYS_WRITE, NT_DIR_SEND, BUF_PLAIN); }
TRACEPOINT_PROBE(syscalls, sys_enter_writev) { return enter(args->fd, (u64)args->vec, args->vlen, NT_SYS_WRITEV, NT_DIR_SEND, BUF_IOV); }
TRACEPOINT_PROBE(syscalls, sys_enter_sendto) { return enter(args->fd, (u64)args->buff, 0, NT_SYS_SENDTO, NT_DIR_SEND, BUF_PLAIN); }
TRACEPOINT_PROBE(syscalls, sys_enter_sendmsg) { return enter(args->fd, (u64)args->msg, 0, NT_SYS_SENDMSG, NT_DIR_SEND, BUF_MSGHDR); }
TRACEPOINT_PROBE(syscalls, sys_enter_sendmmsg) { return enter(args->fd, (u64)args->mmsg, 0, NT_SYS_SENDMMSG, NT_DIR_SEND, BUF_MMSG); }
TRACEPOINT_PROBE(syscalls, sys_enter_sendfile64) { return enter(args->out_fd, 0, 0, NT_SYS_SENDFILE, NT_DIR_SEND, BUF_NONE); }

TRACEPOINT_PROBE(syscalls, sys_exit_read) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_readv) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_recvfrom) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_recvmsg) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_recvmmsg) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_write) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_writev) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_sendto) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_sendmsg) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_sendmmsg) { return exit_io(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_sendfile64) { return exit_io(args->ret); }

/* ---- connection lifecycle ---- */
TRACEPOINT_PROBE(syscalls, sys_enter_connect) { return enter(args->fd, 0, 0, NT_SYS_CONNECT, 0, BUF_NONE); }

/* connect() moves its socket to SYN_SENT in the caller's context: that ties the fd to the socket. */
TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
	if (args->newstate != TCP_SYN_SENT_ || args->protocol != IPPROTO_TCP_)
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct active_t *a = active.lookup(&tid);
	if (a && a->syscall == NT_SYS_CONNECT)
		a->sk = (u64)args->skaddr;
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_connect)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct active_t *a = active.lookup(&tid);
	if (!a)
		return 0;
	if (a->sk && (args->ret == 0 || args->ret == -EINPROGRESS_)) {
		/* The local port is bound only after SYN_SENT: read the tuple now. */
		read_tuple((void *)a->sk, &a->family, &a->lport, &a->rport, a->laddr, a->raddr, &a->netns);
		struct scratch_t *s = scratch_area();
		if (s && socket_selected(a->lport, a->rport, a->netns)) {
			fill_header(&s->ev, id, a, NT_KIND_CONNECT);
			s->ev.bytes = 0;
			emit(s, 0);
			remember_fd(id >> 32, a->fd, a);
		}
	}
	active.delete(&tid);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_accept) { return enter(args->fd, 0, 0, NT_SYS_ACCEPT, 0, BUF_NONE); }
TRACEPOINT_PROBE(syscalls, sys_enter_accept4) { return enter(args->fd, 0, 0, NT_SYS_ACCEPT4, 0, BUF_NONE); }

static __always_inline int exit_accept(long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct active_t *a = active.lookup(&tid);
	if (!a)
		return 0;
#if !FILTER_PORT && !FILTER_NETNS
	/* The new socket's tuple is not known here, so accept events exist only without socket filters. */
	if (ret >= 0) {
		struct scratch_t *s = scratch_area();
		if (s) {
			a->fd = (s32)ret;
			fill_header(&s->ev, id, a, NT_KIND_ACCEPT);
			s->ev.bytes = 0;
			emit(s, 0);
		}
	}
#endif
	active.delete(&tid);
	return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_accept) { return exit_accept(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_accept4) { return exit_accept(args->ret); }

/* close() of an fd that carried TCP data: report it with the socket it had. */
TRACEPOINT_PROBE(syscalls, sys_enter_close)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 key = (id & 0xffffffff00000000ULL) | (u32)args->fd;
	struct fd_sock_t *known = fd_socks.lookup(&key);
	if (!known)
		return 0;
	struct scratch_t *s = scratch_area();
	if (s) {
		struct active_t a = {};
		a.sk = known->sk;
		a.fd = args->fd;
		a.netns = known->netns;
		a.lport = known->lport;
		a.rport = known->rport;
		a.family = known->family;
		a.syscall = NT_SYS_CLOSE;
		__builtin_memcpy(a.laddr, known->laddr, 16);
		__builtin_memcpy(a.raddr, known->raddr, 16);
		fill_header(&s->ev, id, &a, NT_KIND_CLOSE);
		s->ev.bytes = 0;
		emit(s, 0);
	}
	fd_socks.delete(&key);
	return 0;
}

/* Children of selected processes are selected too. */
TRACEPOINT_PROBE(sched, sched_process_fork)
{
#if FILTER_TASKS
	u32 parent = bpf_get_current_pid_tgid() >> 32;
	if (pid_filter.lookup(&parent)) {
		u32 child = args->child_pid;
		u8 one = 1;
		pid_filter.update(&child, &one);
	}
#endif
	return 0;
}

/* ---- green threads (uprobes in greenlet's _greenlet*.so, attached by capture/agent.py) ---- */

/* greenlet::Greenlet::g_switchstack_success(): runs once per switch, on the thread, after the stack switch, for
 * the greenlet now running. It returns a struct in memory, so rdi is the return slot and `this` is in rsi. */
int greenlet_switched(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	if (!traced_task(id >> 32))
		return 0;
	u32 tid = (u32)id;
	u64 gid = green_id(PT_REGS_PARM2(ctx));
	current_gid.update(&tid, &gid);
	count(NT_CNT_GREEN_SWITCHES);
	return 0;
}

/* greenlet::UserGreenlet::UserGreenlet(_greenlet *self, BorrowedGreenlet parent): called by greenlet's tp_new with
 * parent = the thread's current greenlet, i.e. the spawner (eventlet re-parents new green threads to its hub only
 * afterwards, in __init__). `this` (rdi) is the new greenlet; the spawner's gid is its Python object's pimpl. */
int greenlet_created(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	if (!traced_task(id >> 32))
		return 0;
	u32 tid = (u32)id;
	u64 parent_obj = PT_REGS_PARM3(ctx), parent = 0;
	if (parent_obj)
		bpf_probe_read_user(&parent, sizeof(parent), (void *)(parent_obj + PYGREENLET_PIMPL_OFFSET));
	u64 parent_gid = green_id(parent);
	if (parent_gid)
		current_gid.update(&tid, &parent_gid); /* the running greenlet, even before its first switch was seen */
	struct scratch_t *s = scratch_area();
	if (!s)
		return 0;
	struct active_t a = {};
	a.fd = -1;
	fill_header(&s->ev, id, &a, NT_KIND_GREEN_SPAWN);
	s->ev.bytes = 0;
	s->ev.gid = green_id(PT_REGS_PARM1(ctx));
	s->ev.parent_gid = parent_gid;
	emit(s, 0);
	return 0;
}
