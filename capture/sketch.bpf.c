/*
 * sketch.bpf.c - kernel side of `nitrace capture --mode sketch`: aggregates TCP socket I/O of chosen processes in
 * BPF maps instead of emitting one event per syscall. Nothing goes through a ring buffer; the agent
 * (capture/sketch_agent.py) reads the maps every --drain-seconds.
 *
 * Hooks (raw tracepoints: no kprobes on the target kernels, docs/capture.md; raw ones skip the classic tracepoint's
 * copy of its arguments into a record, like nitrace.bpf.c's):
 *   sock_send_length / sock_recv_length   (sk, ret, flags) every send/recv-family call on a socket, inside the
 *                                         syscall: calls and bytes per connection and per process, and the
 *                                         request/response turn-taking that gives call latency. The socket's family
 *                                         is read per call, its protocol once, when its connection entry is made.
 *   inet_sock_set_state                   (sk, oldstate, newstate) SYN_SENT (this side connects: client) and
 *                                         SYN_RECV -> ESTABLISHED (this side accepted: server) start a new
 *                                         connection on the socket
 *   sched_process_fork                    (parent, child) children of --pid processes are traced too
 *
 * Latency from turn-taking: a connection alternates turns of sends and receives. A request turn (the client's
 * sends, the server's receives) followed by a response turn is one exchange; its latency runs from the request's
 * first byte to the response's latest byte, like a span's start_ns..end_ns. The exchange is counted in a log2
 * bucket at the response's first byte and moved to a later bucket while the response keeps coming, so the
 * histogram is exact at any moment the agent reads it. Pipelined protocols (several requests in flight on one
 * connection, AMQP) do not alternate and are measured as whatever turns they make.
 *
 * Shared with nitrace.bpf.c (capture/probe_common.h): kernel constants, the --comm filter's key, reading a socket's
 * 4-tuple.
 * Compile-time parameters (BCC cflags, set by the agent): FILTER_TASKS, FILTER_PORT, FILTER_NETNS, and the OFF_*
 * struct offsets from capture/btf_offsets.py. Print the final program with `nitrace capture --mode sketch --ebpf`.
 */
#include <uapi/linux/ptrace.h>
#include "probe_common.h"
#include "sketch.h"

#define DIR_SEND 1
#define DIR_RECV 2

BPF_TABLE("lru_hash", struct sk_conn_key, struct sk_conn, conns, 16384);
BPF_HASH(procs, struct sk_proc_key, struct sk_stats, 4096);
BPF_ARRAY(countmin, u64, SK_CM_DEPTH * SK_CM_WIDTH);
BPF_PERCPU_ARRAY(counters, u64, SK_CNT_MAX);
/* All-zero values to create map entries from: the structs are too large for the 512-byte BPF stack. */
BPF_ARRAY(zero_conn, struct sk_conn, 1);
BPF_ARRAY(zero_stats, struct sk_stats, 1);
BPF_TABLE("lru_hash", u64, struct sk_open, opened, 16384); /* socket address -> its current connection's opening */
BPF_HASH(excluded_pids, u32, u8, 64);
BPF_HASH(pid_filter, u32, u8, 8192);
BPF_HASH(comm_filter, struct comm_key_t, u8, 64);
BPF_HASH(port_filter, u16, u8, 256);
BPF_HASH(netns_filter, u32, u8, 64);

static __always_inline void count(u32 index)
{
	u64 *c = counters.lookup(&index);
	if (c)
		(*c)++;
}

/* Is the current thread's process one we trace? --pid and --comm select processes (either matches); none: all.
 * (Same in nitrace.bpf.c: map calls cannot live in capture/probe_common.h.) */
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

/* log2 bucket of a latency: 0 for 0 ns, else 1 + floor(log2(ns)), capped at SK_BUCKETS - 1. */
static __always_inline u32 bucket_of(u64 v)
{
	u32 b = 0;
	if (v >= (1ULL << 32)) { b += 32; v >>= 32; }
	if (v >= (1ULL << 16)) { b += 16; v >>= 16; }
	if (v >= (1ULL << 8)) { b += 8; v >>= 8; }
	if (v >= (1ULL << 4)) { b += 4; v >>= 4; }
	if (v >= (1ULL << 2)) { b += 2; v >>= 2; }
	if (v >= (1ULL << 1)) { b += 1; v >>= 1; }
	b += (u32)v; /* v is now 0 or 1 */
	return b < SK_BUCKETS ? b : SK_BUCKETS - 1;
}

/* splitmix64's finaliser: the count-min row hashes (mirrored in capture/sketchDrain.ts). */
static __always_inline u64 mix64(u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __always_inline void countmin_add(struct sk_conn *c)
{
	u64 a0 = 0, a1 = 0;
	__builtin_memcpy(&a0, c->raddr, 8);
	__builtin_memcpy(&a1, c->raddr + 8, 8);
	u64 h = mix64(((u64)c->pid << 32 | c->rport) ^ mix64(a0 ^ mix64(a1 ^ SK_CM_SEED)));
	/* Row i: h mixed with i, so rows collide independently (h1 + i h2 would make two items that agree on both
	 * collide in every row). */
#pragma unroll
	for (u32 i = 0; i < SK_CM_DEPTH; i++) {
		u32 idx = i * SK_CM_WIDTH + (u32)(mix64(h + (i + 1) * 0x9e3779b97f4a7c15ULL) & (SK_CM_WIDTH - 1));
		u64 *cell = countmin.lookup(&idx);
		if (cell)
			__sync_fetch_and_add(cell, 1);
	}
}

static __always_inline void read_tuple(void *sk, struct sk_conn *c)
{
	struct sock_tuple t = {};
	read_sock_tuple(sk, &t, c->laddr, c->raddr);
	c->family = (u8)t.family;
	c->lport = t.lport;
	c->rport = t.rport;
	c->netns = t.netns;
}

static __always_inline int selected(struct sk_conn *c)
{
	return socket_selected(c->lport, c->rport, c->netns);
}

static __always_inline void hist_move(struct sk_stats *s, struct sk_stats *p, u32 from, u32 to, int first)
{
	if (to >= SK_BUCKETS || from >= SK_BUCKETS)
		return;
	if (!first) {
		__sync_fetch_and_add(&s->hist[from], -1);
		if (p)
			__sync_fetch_and_add(&p->hist[from], -1);
	}
	__sync_fetch_and_add(&s->hist[to], 1);
	if (p)
		__sync_fetch_and_add(&p->hist[to], 1);
}

static __always_inline int on_io(struct bpf_raw_tracepoint_args *ctx, u8 dir)
{
	int ret = (int)ctx->args[1];
	if (ret <= 0)
		return 0;
	if (dir == DIR_RECV && (ctx->args[2] & MSG_PEEK_))
		return 0;
	/* Unix sockets (busy on most hosts) leave at once, before any map lookup; UDP is left out below, when its
	 * first call finds no connection entry. */
	void *sk = (void *)ctx->args[0];
	u16 family = 0;
	bpf_probe_read_kernel(&family, sizeof(family), sk + OFF_SKC_FAMILY);
	if (family != AF_INET_ && family != AF_INET6_)
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	if (!selected_task(tgid))
		return 0;
	u64 skaddr = (u64)sk;
	struct sk_open *o = opened.lookup(&skaddr);
	struct sk_conn_key key = {.sk = skaddr, .gen = o ? o->gen : 0};
	u64 now = bpf_ktime_get_ns();
	struct sk_conn *c = conns.lookup(&key);
	if (!c) {
		/* A socket not seen yet: only TCP gets an entry (UDP would crowd the LRU map); the protocol is read here,
		 * once per connection, not per call. */
		u16 protocol = 0;
		bpf_probe_read_kernel(&protocol, sizeof(protocol), sk + OFF_SK_PROTOCOL);
		if (protocol != IPPROTO_TCP_)
			return 0;
		u32 zero = 0;
		struct sk_conn *z = zero_conn.lookup(&zero);
		if (!z)
			return 0;
		if (conns.update(&key, z) != 0)
			count(SK_CNT_CONN_FULL);
		c = conns.lookup(&key);
		if (!c)
			return 0;
		c->pid = tgid;
		read_tuple(sk, c);
		c->ignored = !selected(c);
	/* Opened while the probes ran: connect() is the client, accept() the server. Open before: the first
		 * call's direction (sending first: client); wrong only if the capture began inside a response. */
		c->role = o ? (u8)o->role : (dir == DIR_SEND ? SK_ROLE_CLIENT : SK_ROLE_SERVER);
	}
	if (c->ignored)
		return 0;
	count(SK_CNT_EVENTS);
	struct sk_proc_key pk = {.pid = tgid, .role = c->role};
	struct sk_stats *p = procs.lookup(&pk);
	if (!p) {
		u32 zero = 0;
		struct sk_stats *z = zero_stats.lookup(&zero);
		if (z && procs.update(&pk, z) != 0)
			count(SK_CNT_PROC_FULL);
		p = procs.lookup(&pk);
	}
	if (dir == DIR_SEND) {
		__sync_fetch_and_add(&c->stats.send_calls, 1);
		__sync_fetch_and_add(&c->stats.send_bytes, ret);
		if (p) {
			__sync_fetch_and_add(&p->send_calls, 1);
			__sync_fetch_and_add(&p->send_bytes, ret);
		}
	} else {
		__sync_fetch_and_add(&c->stats.recv_calls, 1);
		__sync_fetch_and_add(&c->stats.recv_bytes, ret);
		if (p) {
			__sync_fetch_and_add(&p->recv_calls, 1);
			__sync_fetch_and_add(&p->recv_bytes, ret);
		}
	}
	u8 req_dir = c->role == SK_ROLE_CLIENT ? DIR_SEND : DIR_RECV;
	if (dir == req_dir) {
		if (c->phase != 1) { /* a new request turn begins */
			c->phase = 1;
			c->req_start_ns = now;
		}
		return 0;
	}
	/* A response-direction call. */
	if (c->phase == 0)
		return 0; /* response without a request seen (the capture began mid-exchange) */
	u32 b = bucket_of(now - c->req_start_ns);
	if (c->phase == 1) { /* the response's first byte: one more exchange */
		c->phase = 2;
		c->cur_bucket = b;
		__sync_fetch_and_add(&c->stats.exchanges, 1);
		if (p)
			__sync_fetch_and_add(&p->exchanges, 1);
		hist_move(&c->stats, p, 0, b, 1);
		countmin_add(c);
	} else if (b != c->cur_bucket) { /* the response grew into a later bucket */
		hist_move(&c->stats, p, c->cur_bucket, b, 0);
		c->cur_bucket = b;
	}
	return 0;
}

RAW_TRACEPOINT_PROBE(sock_send_length)
{
	return on_io(ctx, DIR_SEND);
}

RAW_TRACEPOINT_PROBE(sock_recv_length)
{
	return on_io(ctx, DIR_RECV);
}

RAW_TRACEPOINT_PROBE(inet_sock_set_state)
{
	void *sk = (void *)ctx->args[0];
	int oldstate = (int)ctx->args[1], newstate = (int)ctx->args[2];
	u32 role;
	if (newstate == TCP_SYN_SENT_)
		role = SK_ROLE_CLIENT;
	else if (newstate == TCP_ESTABLISHED_ && oldstate == TCP_SYN_RECV_)
		role = SK_ROLE_SERVER;
	else
		return 0;
	u16 protocol = 0;
	bpf_probe_read_kernel(&protocol, sizeof(protocol), sk + OFF_SK_PROTOCOL);
	if (protocol != IPPROTO_TCP_)
		return 0;
	u64 skaddr = (u64)sk;
	struct sk_open o = {.gen = bpf_ktime_get_ns(), .role = role};
	opened.update(&skaddr, &o);
	return 0;
}

/* Runs in the parent: a new process (not a thread: child pid == tgid) of a selected process is selected too. */
RAW_TRACEPOINT_PROBE(sched_process_fork)
{
#if FILTER_TASKS
	void *child = (void *)ctx->args[1];
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
