/*
 * sketch.h - what capture/sketch.bpf.c keeps in its maps, shared with the agent (capture/sketch_agent.py reads the
 * maps through BCC, which takes the layouts from the C) and mirrored by capture/sketchDrain.ts (bucket bounds, the
 * count-min hash).
 */
#ifndef NITRACE_SKETCH_H
#define NITRACE_SKETCH_H

/* Latency buckets: bucket b >= 1 holds latencies in [2^(b-1), 2^b) ns; bucket 0 holds 0 ns. 2^47 ns = 39 h. */
#define SK_BUCKETS 48

/* Who this side of a connection is: it sent the first request (client) or received it (server). */
#define SK_ROLE_CLIENT 1
#define SK_ROLE_SERVER 2

/* Count-min of (process, remote endpoint) exchanges: SK_CM_DEPTH rows of SK_CM_WIDTH (a power of two) counters. */
#define SK_CM_DEPTH 4
#define SK_CM_WIDTH 1024
#define SK_CM_SEED 0x6e69747261636521ULL /* "nitrace!" */

/* Calls, bytes and the latency histogram of one connection, or of one process in one role. */
struct sk_stats {
	u64 send_calls;
	u64 send_bytes;
	u64 recv_calls;
	u64 recv_bytes;
	u64 exchanges; /* request/response turn pairs seen */
	u64 hist[SK_BUCKETS];
};

/* Per connection (key: the socket address): identity, turn-taking state, stats. */
struct sk_conn {
	u32 pid;
	u32 netns;
	u16 lport;
	u16 rport;
	u8 family;
	u8 role;	  /* SK_ROLE_*: from the opening (connect: client, accept: server), else the first I/O's direction */
	u8 phase;	  /* 0 idle, 1 inside a request turn, 2 inside a response turn */
	u8 cur_bucket;	  /* the bucket the current exchange is counted in (moved as its response grows) */
	u8 ignored;	  /* filtered out by --port/--netns: counted nowhere (non-TCP sockets get no entry) */
	u8 pad[3];
	u8 laddr[16];
	u8 raddr[16];
	u64 req_start_ns; /* first byte of the current request turn */
	struct sk_stats stats;
};

/* A connection: its socket address and when it was established (ktime ns at SYN_SENT or at the server's
 * SYN_RECV -> ESTABLISHED; 0 when it was open before the capture), so a reused socket address is a new key. */
struct sk_conn_key {
	u64 sk;
	u64 gen;
};

/* Sockets whose opening the probes saw: when, and which side this is. */
struct sk_open {
	u64 gen;
	u32 role;
	u32 pad;
};

struct sk_proc_key {
	u32 pid;
	u32 role;
};

/* Counters of what the kernel side could not keep. */
#define SK_CNT_CONN_FULL 0  /* the connection map was full: LRU evicted an older connection */
#define SK_CNT_PROC_FULL 1  /* the process map was full: a process's stats were not kept */
#define SK_CNT_EVENTS 2	    /* socket I/O calls counted */
#define SK_CNT_MAX 3

#endif
