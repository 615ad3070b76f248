/*
 * nitrace.bpf.c - kernel side of `nitrace capture`: TCP socket I/O of chosen processes, with payload heads, from
 * the socket layer only.
 *
 * Why no syscall hooks: once any syscalls:* tracepoint is attached, every thread of every process takes the slow
 * syscall path, and enter/exit pairs cost two dispatches and a hash update per syscall. Here nothing runs for
 * non-socket syscalls, and a socket operation costs one program run:
 *   raw sock_{send,recv}_length  fires inside sock_sendmsg/sock_recvmsg after the protocol moved the bytes (or
 *                              failed: -EAGAIN is a `block` event). The syscall number, fd and user buffer come
 *                              from the task's saved registers (bpf_task_pt_regs); the payload is copied from
 *                              the user buffer straight into its record, written in place in a per-CPU ring.
 *   inet_sock_set_state        SYN_SENT (in connect()) remembers the call, ESTABLISHED emits `connect`; the
 *                              first close()/shutdown() state change emits `close`
 *   tcp_destroy_sock           forgets the socket (and emits `close` if close() found it already closed)
 *   task_rename, sched_process_fork   reset a thread's state; children of --pid processes are traced too
 *   uprobes in greenlet        (capture/greenlet_probes.py attaches them per traced process) keep the running
 *                              greenlet per thread, stamped on every event as gid; a new greenlet is `green_spawn`
 * What does not change per event is sent once: a connection's 4-tuple when its socket is first seen
 * (NT_REC_CONN), a thread's pid and name when it is first seen (NT_REC_THREAD). Per-thread state (filter verdict,
 * running greenlet, last two sockets used) is an array indexed by thread id; per-socket state one hash keyed by the
 * socket, which a thread skips while it keeps using the same one or two sockets.
 *
 * Two outputs, both read by capture/nitrace_consumer.c:
 *   `fast`    one ring per CPU in an mmap-able array, written only by the sock_* programs. They run with
 *             preemption disabled and never in interrupt context, so a CPU's ring has one writer at a time: a
 *             record is written in place and published by advancing `head` (x86 keeps stores in order), with no
 *             lock. Measured here (noisy VM), BPF's ring buffer costs ~165 ns per reserve+submit (its lock
 *             disables interrupts, expensive in this VM); this costs a few stores.
 *   `events`  BPF's ring buffer, for everything else (connect/close in softirq, uprobes, which can be preempted).
 * A record names connections and threads sent earlier, possibly through the other output; the consumer holds an
 * event back until what it names has arrived.
 * Struct fields are read at offsets from the running kernel's BTF (-D OFF_*, capture/btf_offsets.py): BCC
 * compiles with headers of another kernel. Every loss is counted in `counters`.
 *
 * Shared with sketch.bpf.c (capture/probe_common.h): kernel constants, the --comm filter's key, reading a socket's
 * 4-tuple.
 * Compile-time parameters (BCC cflags, set by capture/agent.py): SNAPLEN, SNAPLEN_PORTS (per-port sizes in map
 * `snaplen_ports`), RINGBUF_PAGES, FAST_BYTES (per-CPU ring size, a power of two), CONN_SALT, NCPUS, PID_MAX,
 * FILTER_TASKS (pid or comm selection), FILTER_PORT, FILTER_NETNS, and the OFF_* offsets. Print the final
 * program with `nitrace capture --ebpf`.
 */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
#include "event.h"
#include "probe_common.h"

#define EAGAIN_ 11
#define ENOSYS_ 38
#define PF_KTHREAD_ 0x00200000
#define PF_IO_WORKER_ 0x00000010
#define NT_MAX_IOV 8

/* x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) */
#define NR_READ 0
#define NR_WRITE 1
#define NR_CLOSE 3
#define NR_READV 19
#define NR_WRITEV 20
#define NR_SENDFILE 40
#define NR_CONNECT 42
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
#define NR_SHUTDOWN 48
#define NR_EXIT 60
#define NR_EXIT_GROUP 231
#define NR_RECVMMSG 299
#define NR_SENDMMSG 307

/* How the syscall passes its buffer. */
#define BUF_NONE 0   /* sendfile, *mmsg, untracked: no payload */
#define BUF_PLAIN 1  /* read, write, recvfrom, sendto */
#define BUF_IOV 2    /* readv, writev */
#define BUF_MSGHDR 3 /* recvmsg, sendmsg */

/* greenlet 2.0.x: `struct _greenlet` (the Python object) is PyObject_HEAD, weakreflist, dict, then `pimpl`, the
 * C++ greenlet::Greenlet whose address is the gid (checked by disassembling Greenlet::Greenlet(_greenlet*)). */
#define PYGREENLET_PIMPL_OFFSET 32

#define FAST_MASK (FAST_BYTES - 1)
/* Room after the ring for a record that starts near its end: records are written (and read) contiguously. */
#define FAST_SLACK (8 + NT_KREC_EVENT_SIZE + NT_MAX_SNAPLEN + 4096)
#define RECORD_TOTAL(len) ((8 + (len) + 7) & ~7U)

/* One CPU's ring. The consumer maps the array and writes `tail`; only that CPU's sock_* programs write the rest. */
struct fast_ring {
	u64 head;     /* bytes written (published), ever increasing */
	u64 emitted;  /* events written here (NT_CNT_EMITTED's share of this ring; capture/agent.py adds it): on the
		       * line `head` already is, where the per-CPU counters map cost ~40 ns more per event (bpfParts
		       * --baseline, dev) */
	u64 pad0[6];
	u64 tail;     /* bytes consumed: written by the consumer */
	u64 pad1[7];
	u8 data[FAST_BYTES + FAST_SLACK];
};

/* A traced socket a thread used lately, with its connection number and snaplen. */
struct sock_cache {
	u64 sk;
	u32 conn;
	u32 snaplen;
};

/* Per thread, indexed by thread id (< PID_MAX); reset when the thread is created or renamed. */
struct thread_state {
	u64 gid;            /* running greenlet (green_id), 0 unknown */
	struct sock_cache cached[2]; /* the two sockets this thread used last, most recent first: a thread that
				      * alternates between two (a client and its upstream, a test's two ends) skips
				      * the connection table (an LRU hash lookup, ~100 ns here, bpf_stats) */
	u32 cached_gen;     /* globals[GLOBAL_DESTROYS] when cached: any destroyed socket ends every cache */
	u8 known;           /* verdict computed */
	u8 traced;          /* the thread's process is selected */
	u8 thread_sent;     /* NT_REC_THREAD written since the verdict */
	u8 untracked;       /* kernel thread or io_uring worker: its registers are not a syscall's */
};

/* Per socket. */
#define VERDICT_UNKNOWN 0
#define VERDICT_IGNORE 1  /* not TCP, or filtered out */
#define VERDICT_TRACE 2
struct conn_state {
	u32 conn;       /* connection number (NT_REC_CONN) */
	u32 snaplen;    /* payload bytes kept */
	u8 verdict;
	u8 close_sent;  /* `close` emitted */
	u8 connecting;  /* connect() seen (SYN_SENT), `connect` not emitted yet */
	u8 pad;
	s32 connect_fd;
	u32 connect_tid;
	u32 pad2;
	u64 connect_ts;
	u64 connect_gid;
};

/* x86_64 struct pt_regs from ax (offset 80) to orig_ax (120): one read. */
struct regs_tail {
	u64 ax;
	u64 cx;
	u64 dx;
	u64 si;
	u64 di;
	u64 orig_ax;
};

struct nt_iovec {
	u64 base;
	u64 len;
};

/* Gather area for iovec payloads (readv/writev/sendmsg/recvmsg), then copied into the record. Larger than
 * NT_MAX_SNAPLEN so that masked offsets and lengths stay provably inside it for the verifier. */
struct gather_t {
	u8 data[3 * NT_MAX_SNAPLEN];
};

#define GLOBAL_DESTROYS 0
BPF_F_TABLE("array", u32, struct fast_ring, fast, NCPUS, BPF_F_MMAPABLE);
BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_ARRAY(threads, struct thread_state, PID_MAX);
BPF_TABLE("lru_hash", u64, struct conn_state, conns, 65536);
BPF_ARRAY(gather, struct gather_t, NCPUS);
BPF_ARRAY(globals, u32, 1);
BPF_PERCPU_ARRAY(conn_numbers, u32, 1);
BPF_PERCPU_ARRAY(counters, u64, NT_CNT_MAX);
BPF_HASH(excluded_pids, u32, u8, 64);
BPF_HASH(pid_filter, u32, u8, 8192);
BPF_HASH(comm_filter, struct comm_key_t, u8, 64);
BPF_HASH(port_filter, u16, u8, 256);
BPF_HASH(netns_filter, u32, u8, 64);
BPF_HASH(snaplen_ports, u16, u32, 256);

/* Bound a copy length for the verifier. The empty asm hides the value's known range from clang, which would
 * otherwise drop the mask as redundant and leave the verifier with an unbounded register. */
static __always_inline u32 bound(u32 n, u32 mask)
{
	asm volatile("" : "+r"(n));
	return n & mask;
}

static __always_inline void count(u32 index)
{
	u64 *c = counters.lookup(&index);
	if (c)
		(*c)++;
}

/* A greenlet's identity in the capture: its address, salted (opaque, fits a signed BIGINT). */
static __always_inline u64 green_id(u64 addr)
{
	return addr ? ((addr ^ CONN_SALT) & 0x7fffffffffffffffULL) : 0;
}

/* ---- outputs ---- */

/* Space for a record of `len` bytes in this CPU's ring (header written), or NULL if the ring is full. */
static __always_inline u8 *fast_reserve(struct fast_ring *r, u32 len)
{
	u64 head = r->head;
	if (head + RECORD_TOTAL(len) - r->tail > FAST_BYTES) {
		count(NT_CNT_RINGBUF_DROP);
		return 0;
	}
	u8 *p = r->data + (head & FAST_MASK);
	*(u32 *)p = len;
	*(u32 *)(p + 4) = 0;
	return p + 8;
}

/* Publish the record reserved last: everything written before this store is visible before `head` moves. */
static __always_inline void fast_commit(struct fast_ring *r, u32 len)
{
	asm volatile("" ::: "memory");
	r->head += RECORD_TOTAL(len);
}

static __always_inline struct fast_ring *this_cpu_ring(void)
{
	u32 cpu = bpf_get_smp_processor_id();
	return fast.lookup(&cpu);
}

/* ---- threads ---- */

/* Is the current thread's process one we trace? --pid and --comm select processes (either matches); none: all.
 * (Same in sketch.bpf.c: map calls cannot live in capture/probe_common.h.) */
static __always_inline int selected_task(u32 tgid)
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

/* The current thread's state, with its verdict computed once (again after a rename or exec). */
static __always_inline struct thread_state *current_state(u64 id)
{
	u32 tid = (u32)id;
	struct thread_state *t = threads.lookup(&tid);
	if (!t)
		return 0;
	if (!t->known) {
		t->traced = selected_task(id >> 32);
		u32 flags = 0;
		bpf_probe_read_kernel(&flags, sizeof(flags), (void *)bpf_get_current_task() + OFF_TASK_FLAGS);
		t->untracked = (flags & (PF_KTHREAD_ | PF_IO_WORKER_)) != 0;
		t->thread_sent = 0;
		t->cached[0].sk = 0;
		t->cached[1].sk = 0;
		t->known = 1;
	}
	return t;
}

static __always_inline void fill_thread(struct nt_krec_thread *r, u64 id)
{
	r->tid = (u32)id;
	r->pid = id >> 32;
	bpf_get_current_comm(&r->comm, sizeof(r->comm));
	r->kind = NT_REC_THREAD;
	r->pad2 = 0;
}

/* NT_REC_THREAD for the current thread unless already sent: into this CPU's ring (sock_* programs)... */
static __always_inline void send_thread_fast(struct fast_ring *ring, struct thread_state *t, u64 id)
{
	if (t->thread_sent)
		return;
	struct nt_krec_thread *r = (void *)fast_reserve(ring, sizeof(*r));
	if (!r)
		return;
	fill_thread(r, id);
	fast_commit(ring, sizeof(*r));
	t->thread_sent = 1;
}

/* ... or into the shared ring buffer (every other program). */
static __always_inline void send_thread_rb(struct thread_state *t, u64 id)
{
	if (t->thread_sent)
		return;
	struct nt_krec_thread *r = events.ringbuf_reserve(sizeof(struct nt_krec_thread));
	if (!r) {
		count(NT_CNT_RINGBUF_DROP);
		return;
	}
	fill_thread(r, id);
	events.ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	t->thread_sent = 1;
}

/* ---- sockets ---- */

/* Fill NT_REC_CONN for a TCP socket; 0 if --port/--netns leave it out. */
static __always_inline int fill_conn(struct nt_krec_conn *r, void *sk)
{
	__builtin_memset(r->local_addr, 0, 16);
	__builtin_memset(r->remote_addr, 0, 16);
	struct sock_tuple t = {};
	read_sock_tuple(sk, &t, r->local_addr, r->remote_addr);
	if (!socket_selected(t.lport, t.rport, t.netns))
		return 0;
	r->conn_id = ((u64)sk ^ CONN_SALT) & 0x7fffffffffffffffULL; /* fits a signed BIGINT */
	r->netns = t.netns;
	r->local_port = t.lport;
	r->remote_port = t.rport;
	r->family = (u8)t.family;
	r->kind = NT_REC_CONN;
	r->pad2 = 0;
	return 1;
}

/* A new connection number: a per-CPU count (no atomic needed) in the high 24 bits, the CPU in the low 8. */
static __always_inline u32 next_conn_number(void)
{
	u32 zero = 0;
	u32 *last = conn_numbers.lookup(&zero);
	if (!last)
		return 0;
	*last += 1;
	u32 number = (*last << 8) | (bpf_get_smp_processor_id() & 0xff);
	return number ? number : 0x100; /* 0 means "no connection" */
}

static __always_inline u32 snaplen_for(u16 lport, u16 rport)
{
#if SNAPLEN_PORTS
	u32 *n = snaplen_ports.lookup(&lport);
	if (!n)
		n = snaplen_ports.lookup(&rport);
	if (n)
		return *n;
#endif
	return SNAPLEN;
}

/* Decide a socket's verdict and send NT_REC_CONN if traced: in this CPU's ring (ring != NULL) or the ring buffer. */
static __always_inline void identify(void *sk, struct conn_state *c, struct fast_ring *ring)
{
	struct nt_krec_conn *r = ring ? (void *)fast_reserve(ring, sizeof(struct nt_krec_conn))
				      : events.ringbuf_reserve(sizeof(struct nt_krec_conn));
	if (!r) {
		if (!ring)
			count(NT_CNT_RINGBUF_DROP);
		return; /* verdict stays unknown: the next event tries again */
	}
	if (!fill_conn(r, sk)) {
		if (!ring)
			events.ringbuf_discard(r, BPF_RB_NO_WAKEUP); /* an unpublished fast record is simply not committed */
		c->verdict = VERDICT_IGNORE;
		count(NT_CNT_FILTERED);
		return;
	}
	u32 number = next_conn_number();
	r->conn = number;
	u32 snaplen = snaplen_for(r->local_port, r->remote_port); /* before the record is handed over */
	if (ring)
		fast_commit(ring, sizeof(struct nt_krec_conn));
	else
		events.ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	c->conn = number;
	c->snaplen = snaplen;
	c->verdict = VERDICT_TRACE;
}

/* A socket's state, created on first sight (TCP over IPv4/IPv6 only; everything else is remembered as ignored). */
static __always_inline struct conn_state *socket_state(void *sk)
{
	u64 key = (u64)sk;
	struct conn_state *c = conns.lookup(&key);
	if (c)
		return c;
	u16 protocol = 0, fam = 0;
	bpf_probe_read_kernel(&protocol, sizeof(protocol), sk + OFF_SK_PROTOCOL);
	bpf_probe_read_kernel(&fam, sizeof(fam), sk + OFF_SKC_FAMILY);
	struct conn_state fresh = {};
	fresh.verdict = (protocol == IPPROTO_TCP_ && (fam == AF_INET_ || fam == AF_INET6_)) ? VERDICT_UNKNOWN : VERDICT_IGNORE;
	conns.update(&key, &fresh);
	c = conns.lookup(&key);
	if (!c)
		count(NT_CNT_ACTIVE_FULL);
	return c;
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
		u8 state = 0;
		bpf_probe_read_kernel(&state, sizeof(state), sk + OFF_SKC_STATE);
		if (state == TCP_CLOSE_WAIT_ || state == TCP_LAST_ACK_ || state == TCP_CLOSING_ || state == TCP_TIME_WAIT_ ||
		    state == TCP_CLOSE_) {
			u32 rcv_nxt = 0;
			bpf_probe_read_kernel(&rcv_nxt, sizeof(rcv_nxt), sk + OFF_TCP_RCV_NXT);
			if (rcv_nxt == seq)
				first -= 1;
		}
	}
	return first;
}

/* ---- the data path ---- */

/* Which syscall is running, from the thread's saved registers: NT_SYS_*, buffer mode, fd, buffer, count. */
struct call_t {
	u64 buf;
	u64 arg3;
	s32 fd;
	u8 syscall;
	u8 mode;
};

static __always_inline void read_regs(struct regs_tail *r)
{
	bpf_probe_read_kernel(r, sizeof(*r), (void *)bpf_task_pt_regs(bpf_get_current_task_btf()) + 80);
}

static __always_inline void decode_call(struct thread_state *t, struct call_t *call)
{
	call->fd = -1;
	call->syscall = NT_SYS_UNTRACKED;
	call->mode = BUF_NONE;
	if (t->untracked)
		return;
	struct regs_tail r = {};
	read_regs(&r);
	/* Inside a syscall, ax holds -ENOSYS until it returns. Anything else (io_uring task work run on the way back
	 * to user space, say) did not come from the syscall the registers describe. */
	if ((s64)r.ax != -ENOSYS_)
		return;
	u8 sys = 0, mode = BUF_NONE;
	switch (r.orig_ax) {
	case NR_READ: sys = NT_SYS_READ; mode = BUF_PLAIN; break;
	case NR_WRITE: sys = NT_SYS_WRITE; mode = BUF_PLAIN; break;
	case NR_RECVFROM: sys = NT_SYS_RECVFROM; mode = BUF_PLAIN; break;
	case NR_SENDTO: sys = NT_SYS_SENDTO; mode = BUF_PLAIN; break;
	case NR_READV: sys = NT_SYS_READV; mode = BUF_IOV; break;
	case NR_WRITEV: sys = NT_SYS_WRITEV; mode = BUF_IOV; break;
	case NR_RECVMSG: sys = NT_SYS_RECVMSG; mode = BUF_MSGHDR; break;
	case NR_SENDMSG: sys = NT_SYS_SENDMSG; mode = BUF_MSGHDR; break;
	case NR_RECVMMSG: sys = NT_SYS_RECVMMSG; break; /* one event per message; payload not taken */
	case NR_SENDMMSG: sys = NT_SYS_SENDMMSG; break;
	case NR_SENDFILE: sys = NT_SYS_SENDFILE; break;
	default: return;
	}
	call->syscall = sys;
	call->mode = mode;
	call->fd = (s32)r.di;
	call->buf = r.si;
	call->arg3 = r.dx;
}

/* Gather up to `want` bytes from an iovec array in user memory into the gather area; bytes gathered. */
static __always_inline u32 gather_iov(u8 *dst, u64 iovp, u32 iovcnt, u32 want)
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
		if (bpf_probe_read_user(dst + bound(off, NT_MAX_SNAPLEN - 1), bound(n, 2 * NT_MAX_SNAPLEN - 1), (void *)iov.base) != 0)
			break;
		off += n;
	}
	return off;
}

/* PROFILE_STOP (bench/bpfParts.ts only; 0, the default, compiles nothing in): return after stage N of the data path,
 * so that bpf_stats run times of consecutive stages give the cost of each part. */
#ifndef PROFILE_STOP
#define PROFILE_STOP 0
#endif
#define PROFILE_STAGE(n) \
	if (PROFILE_STOP == (n)) \
		return 0;
/* PROFILE_TOUCH=k, PROFILE_TOUCH_STRIDE=s (bench/bpfOutside.ts only; default 0: nothing compiled in): with PROFILE_STOP
 * 1, load one word from each of k places s bytes apart in this CPU's gather area before returning: s a few cache
 * lines (k lines on a few pages) against s a page and a line (k lines on k pages) tells what a page touched per
 * event costs (a TLB refill, every syscall, on a VM with PTI and no PCID) from what a line costs. */
#ifndef PROFILE_TOUCH
#define PROFILE_TOUCH 0
#define PROFILE_TOUCH_STRIDE 64
#endif

static __always_inline void profile_touch(void)
{
#if PROFILE_TOUCH
	u32 cpu = bpf_get_smp_processor_id();
	struct gather_t *g = gather.lookup(&cpu);
	if (!g)
		return;
	u64 sum = 0;
#pragma unroll
	for (int i = 0; i < PROFILE_TOUCH; i++)
		sum += *(volatile u64 *)(g->data + i * PROFILE_TOUCH_STRIDE);
	asm volatile("" ::"r"(sum));
#endif
}

static __always_inline int on_sock_io(struct bpf_raw_tracepoint_args *ctx, u8 direction)
{
	int ret = (int)ctx->args[1];
	if (ret <= 0 && ret != -EAGAIN_)
		return 0;
	if (direction == NT_DIR_RECV && (ctx->args[2] & MSG_PEEK_))
		return 0;
	if (PROFILE_STOP == 1)
		profile_touch();
	PROFILE_STAGE(1) /* dispatch only */
	u64 id = bpf_get_current_pid_tgid();
	struct thread_state *t = current_state(id);
	if (!t || !t->traced)
		return 0;
	PROFILE_STAGE(2) /* + the thread's filter verdict */
	struct fast_ring *ring = this_cpu_ring();
	if (!ring)
		return 0;
	void *sk = (void *)ctx->args[0];
	u32 zero = 0;
	u32 *destroys = globals.lookup(&zero);
	u32 gen = destroys ? *destroys : 0;
	u32 conn, snaplen;
	int fresh_cache = t->cached_gen == gen;
	if (fresh_cache && t->cached[0].sk == (u64)sk) {
		conn = t->cached[0].conn;
		snaplen = t->cached[0].snaplen;
	} else if (fresh_cache && t->cached[1].sk == (u64)sk) {
		conn = t->cached[1].conn;
		snaplen = t->cached[1].snaplen;
	} else {
		struct conn_state *c = socket_state(sk);
		if (!c)
			return 0;
		if (c->verdict == VERDICT_UNKNOWN) {
			send_thread_fast(ring, t, id); /* before the connection record: it names no thread, but keep order */
			identify(sk, c, ring);
		}
		if (c->verdict != VERDICT_TRACE)
			return 0;
		conn = c->conn;
		snaplen = c->snaplen;
		if (fresh_cache)
			t->cached[1] = t->cached[0];
		else
			t->cached[1].sk = 0;
		t->cached[0].sk = (u64)sk;
		t->cached[0].conn = conn;
		t->cached[0].snaplen = snaplen;
		t->cached_gen = gen;
	}
	send_thread_fast(ring, t, id);
	PROFILE_STAGE(3) /* + the socket's connection number (per-thread cache or connection table) */
	struct call_t call = {};
	decode_call(t, &call);
	PROFILE_STAGE(4) /* + syscall, fd and buffer from the saved registers */
	u32 bytes = ret > 0 ? (u32)ret : 0;
	u32 seq = first_seq(sk, direction, bytes);
	PROFILE_STAGE(5) /* + the TCP sequence number */
	u32 want = bytes < snaplen ? bytes : snaplen;
	if (call.mode == BUF_NONE || PROFILE_STOP == 6) /* 6: + the record, without payload */
		want = 0;
	u8 *gathered = 0;
	if (call.mode > BUF_PLAIN && want > 0) {
		u64 iovp = call.buf, iovcnt = call.arg3;
		if (call.mode == BUF_MSGHDR) {
			/* struct user_msghdr (x86_64 ABI): msg_iov at 16, msg_iovlen at 24 */
			bpf_probe_read_user(&iovp, sizeof(iovp), (void *)(call.buf + 16));
			bpf_probe_read_user(&iovcnt, sizeof(iovcnt), (void *)(call.buf + 24));
		}
		u32 cpu = bpf_get_smp_processor_id();
		struct gather_t *g = gather.lookup(&cpu);
		if (!g)
			return 0;
		u32 got = gather_iov(g->data, iovp, (u32)iovcnt, want);
		if (got < want)
			count(NT_CNT_PAYLOAD_FAULT);
		want = got;
		gathered = g->data;
	}
	want = bound(want, 2 * NT_MAX_SNAPLEN - 1);
	if (want > NT_MAX_SNAPLEN)
		want = NT_MAX_SNAPLEN;
	struct nt_krec_event *e = (void *)fast_reserve(ring, NT_KREC_EVENT_SIZE + want);
	if (!e)
		return 0;
	u32 len = want;
	if (len > 0) {
		long err = gathered ? bpf_probe_read_kernel((u8 *)(e + 1), len, gathered)
				    : bpf_probe_read_user((u8 *)(e + 1), len, (void *)call.buf);
		if (err) {
			count(NT_CNT_PAYLOAD_FAULT);
			len = 0;
		}
	}
	e->ts_mono_ns = bpf_ktime_get_ns();
	e->gid = t->gid;
	e->conn = conn;
	e->tid = (u32)id;
	e->bytes = bytes;
	e->tcp_seq = seq;
	e->fd = call.fd;
	e->payload_len = (u16)len;
	e->kind = ret > 0 ? NT_KIND_DATA : NT_KIND_BLOCK;
	e->info = call.syscall | (direction << 5) | (len > 0xffff ? NT_INFO_LEN16 : 0);
	/* The record was reserved for `want` payload bytes; a fault leaves them unused (payload_len 0). */
	ring->emitted++;
	fast_commit(ring, NT_KREC_EVENT_SIZE + want);
	return 0;
}

RAW_TRACEPOINT_PROBE(sock_send_length)
{
	return on_sock_io(ctx, NT_DIR_SEND);
}

RAW_TRACEPOINT_PROBE(sock_recv_length)
{
	return on_sock_io(ctx, NT_DIR_RECV);
}

/* ---- connection lifecycle (shared ring buffer: these can run in softirq, interrupting a sock_* program) ---- */

/* An event without payload for a socket (connect() and close() paths). */
static __always_inline void emit_plain(struct conn_state *c, u8 kind, u8 syscall, s32 fd, u64 ts, u32 tid, u64 gid)
{
	struct nt_krec_event *e = events.ringbuf_reserve(NT_KREC_EVENT_SIZE);
	if (!e) {
		count(NT_CNT_RINGBUF_DROP);
		return;
	}
	e->ts_mono_ns = ts;
	e->gid = gid;
	e->conn = c->conn;
	e->tid = tid;
	e->bytes = 0;
	e->tcp_seq = 0;
	e->fd = fd;
	e->payload_len = 0;
	e->kind = kind;
	e->info = syscall;
	events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	count(NT_CNT_EMITTED);
}

/*
 * connect(): SYN_SENT happens inside the call (in the caller's context, fd in its registers) but before the local
 * port is bound; ESTABLISHED (often in softirq) has the whole tuple. Remember the first, emit at the second.
 * close(): leaving ESTABLISHED or CLOSE_WAIT for FIN_WAIT1 or LAST_ACK happens only in close()/shutdown() (or
 * a process exit) of the socket's owner; a socket torn down at once (unread data: RST) goes straight to CLOSE.
 */
RAW_TRACEPOINT_PROBE(inet_sock_set_state)
{
	void *sk = (void *)ctx->args[0];
	int oldstate = (int)ctx->args[1], newstate = (int)ctx->args[2];
	if (newstate == TCP_SYN_SENT_) {
		u64 id = bpf_get_current_pid_tgid();
		struct thread_state *t = current_state(id);
		if (!t || !t->traced)
			return 0;
		u16 protocol = 0;
		bpf_probe_read_kernel(&protocol, sizeof(protocol), sk + OFF_SK_PROTOCOL);
		if (protocol != IPPROTO_TCP_)
			return 0;
		send_thread_rb(t, id);
		struct conn_state fresh = {};
		fresh.connecting = 1;
		struct regs_tail r = {};
		read_regs(&r);
		fresh.connect_fd = (r.orig_ax == NR_CONNECT && (s64)r.ax == -ENOSYS_ && !t->untracked) ? (s32)r.di : -1;
		fresh.connect_tid = (u32)id;
		fresh.connect_ts = bpf_ktime_get_ns();
		fresh.connect_gid = t->gid;
		u64 key = (u64)sk;
		conns.update(&key, &fresh);
		return 0;
	}
	if (newstate == TCP_ESTABLISHED_ && oldstate == TCP_SYN_SENT_) {
		u64 key = (u64)sk;
		struct conn_state *c = conns.lookup(&key);
		if (!c || !c->connecting)
			return 0;
		c->connecting = 0;
		if (c->verdict == VERDICT_UNKNOWN)
			identify(sk, c, 0);
		if (c->verdict == VERDICT_TRACE)
			emit_plain(c, NT_KIND_CONNECT, NT_SYS_CONNECT, c->connect_fd, c->connect_ts, c->connect_tid, c->connect_gid);
		return 0;
	}
	if ((newstate == TCP_FIN_WAIT1_ || newstate == TCP_LAST_ACK_ || newstate == TCP_CLOSE_) &&
	    (oldstate == TCP_ESTABLISHED_ || oldstate == TCP_CLOSE_WAIT_)) {
		u64 key = (u64)sk;
		struct conn_state *c = conns.lookup(&key);
		if (!c || c->verdict != VERDICT_TRACE || c->close_sent)
			return 0;
		u64 id = bpf_get_current_pid_tgid();
		struct thread_state *t = current_state(id);
		if (!t || !t->traced || t->untracked)
			return 0;
		struct regs_tail r = {};
		read_regs(&r);
		if ((s64)r.ax != -ENOSYS_)
			return 0;
		u8 sys = 0;
		s32 fd = -1;
		if (r.orig_ax == NR_CLOSE) {
			sys = NT_SYS_CLOSE;
			fd = (s32)r.di;
		} else if (r.orig_ax == NR_SHUTDOWN && newstate != TCP_CLOSE_) {
			sys = NT_SYS_SHUTDOWN;
			fd = (s32)r.di;
		} else if ((r.orig_ax == NR_EXIT || r.orig_ax == NR_EXIT_GROUP) && newstate != TCP_CLOSE_) {
			sys = NT_SYS_EXIT;
		} else {
			return 0; /* softirq (a reset from the peer) or an unknown path: no close call to report */
		}
		send_thread_rb(t, id);
		c->close_sent = 1;
		emit_plain(c, NT_KIND_CLOSE, sys, fd, bpf_ktime_get_ns(), (u32)id, t->gid);
	}
	return 0;
}

/* The socket is gone: forget it (and every thread's cached socket); a close() that found it already closed (after
 * a reset) is reported here. */
RAW_TRACEPOINT_PROBE(tcp_destroy_sock)
{
	void *sk = (void *)ctx->args[0];
	u64 key = (u64)sk;
	struct conn_state *c = conns.lookup(&key);
	if (!c)
		return 0;
	if (c->verdict == VERDICT_TRACE && !c->close_sent) {
		u64 id = bpf_get_current_pid_tgid();
		struct thread_state *t = current_state(id);
		if (t && t->traced && !t->untracked) {
			struct regs_tail r = {};
			read_regs(&r);
			if ((s64)r.ax == -ENOSYS_ && r.orig_ax == NR_CLOSE) {
				send_thread_rb(t, id);
				emit_plain(c, NT_KIND_CLOSE, NT_SYS_CLOSE, (s32)r.di, bpf_ktime_get_ns(), (u32)id, t->gid);
			}
		}
	}
	conns.delete(&key);
	u32 zero = 0;
	u32 *destroys = globals.lookup(&zero);
	if (destroys)
		__sync_fetch_and_add(destroys, 1);
	return 0;
}

/* ---- threads and processes ---- */

static __always_inline void reset_thread(void *task)
{
	u32 tid = 0;
	bpf_probe_read_kernel(&tid, sizeof(tid), task + OFF_TASK_PID);
	struct thread_state *t = threads.lookup(&tid);
	if (t) {
		t->known = 0;
		t->gid = 0;
	}
}

/* A thread was renamed (prctl, exec, a write to /proc/PID/task/TID/comm): send its name again, and recompute its
 * verdict (--comm). */
RAW_TRACEPOINT_PROBE(task_rename)
{
	reset_thread((void *)ctx->args[0]);
	return 0;
}

/* A new thread or process starts with fresh state (its id may have been used before); children of selected
 * processes are selected too. */
RAW_TRACEPOINT_PROBE(sched_process_fork)
{
	void *child = (void *)ctx->args[1];
	reset_thread(child);
#if FILTER_TASKS
	u32 parent = bpf_get_current_pid_tgid() >> 32;
	u32 pid = 0, tgid = 0;
	bpf_probe_read_kernel(&pid, sizeof(pid), child + OFF_TASK_PID);
	bpf_probe_read_kernel(&tgid, sizeof(tgid), child + OFF_TASK_TGID);
	if (pid == tgid && pid_filter.lookup(&parent)) {
		u8 one = 1;
		pid_filter.update(&tgid, &one);
	}
#endif
	return 0;
}

/* ---- before tracing ---- */

/*
 * Touch one word of every page of a CPU's ring (args: CPU, first page, a zero, which area: 0 ring, 1 gather area),
 * PREFAULT_PAGES pages per run; run by capture/agent.py through BPF_PROG_TEST_RUN right after loading, never
 * attached. Why: on the lab VM the first kernel write to each page of a freshly allocated map costs ~17 us (the
 * hypervisor maps the page then), and the kernel's mapping is what counts (touching the consumer's mmap of the
 * same pages does not help). Untouched, a new 32 MiB ring made every 300-byte event ~1300 ns dearer until the
 * ring had wrapped once (bpf_stats). The add of a zero the compiler cannot see is a locked write that leaves the
 * word as it is, so a record written meanwhile by a sock_* program stays intact.
 */
#define PREFAULT_PAGES 4096
static __always_inline int touch_pages(u8 *area, u64 size, u64 first, u64 zero)
{
	int done = 0;
#pragma clang loop unroll(disable)
	for (u32 i = 0; i < PREFAULT_PAGES; i++) {
		u64 off = (first + i) * 4096;
		if (off > size - 8)
			break;
		__sync_fetch_and_add((u64 *)(area + off), zero);
		done++;
	}
	return done;
}

int prefault(struct bpf_raw_tracepoint_args *ctx)
{
	u32 cpu = (u32)ctx->args[0];
	if (ctx->args[3] == 0) {
		struct fast_ring *r = fast.lookup(&cpu);
		return r ? touch_pages((u8 *)r, sizeof(*r), ctx->args[1], ctx->args[2]) : -1;
	}
	struct gather_t *g = gather.lookup(&cpu);
	return g ? touch_pages((u8 *)g, sizeof(*g), ctx->args[1], ctx->args[2]) : -1;
}

/* ---- green threads (uprobes in greenlet's _greenlet*.so, attached by capture/greenlet_probes.py) ---- */

/* greenlet::Greenlet::g_switchstack_success(): runs once per switch, on the thread, after the stack switch, for
 * the greenlet now running. It returns a struct in memory, so rdi is the return slot and `this` is in rsi. */
int greenlet_switched(struct pt_regs *ctx)
{
	struct thread_state *t = current_state(bpf_get_current_pid_tgid());
	if (!t || !t->traced)
		return 0;
	t->gid = green_id(PT_REGS_PARM2(ctx));
	count(NT_CNT_GREEN_SWITCHES);
	return 0;
}

/* greenlet::UserGreenlet::UserGreenlet(_greenlet *self, BorrowedGreenlet parent): called by greenlet's tp_new with
 * parent = the thread's current greenlet, i.e. the spawner (eventlet re-parents new green threads to its hub only
 * afterwards, in __init__). `this` (rdi) is the new greenlet; the spawner's gid is its Python object's pimpl. */
int greenlet_created(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct thread_state *t = current_state(id);
	if (!t || !t->traced)
		return 0;
	u64 parent_obj = PT_REGS_PARM3(ctx), parent = 0;
	if (parent_obj)
		bpf_probe_read_user(&parent, sizeof(parent), (void *)(parent_obj + PYGREENLET_PIMPL_OFFSET));
	u64 parent_gid = green_id(parent);
	if (parent_gid)
		t->gid = parent_gid; /* the running greenlet, even before its first switch was seen */
	send_thread_rb(t, id);
	struct nt_krec_event *e = events.ringbuf_reserve(NT_KREC_EVENT_SIZE);
	if (!e) {
		count(NT_CNT_RINGBUF_DROP);
		return 0;
	}
	e->ts_mono_ns = bpf_ktime_get_ns();
	e->gid = green_id(PT_REGS_PARM1(ctx));
	e->conn = 0;
	e->tid = (u32)id;
	e->bytes = (u32)parent_gid;
	e->tcp_seq = (u32)(parent_gid >> 32);
	e->fd = -1;
	e->payload_len = 0;
	e->kind = NT_KIND_GREEN_SPAWN;
	e->info = 0;
	events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	count(NT_CNT_EMITTED);
	return 0;
}
