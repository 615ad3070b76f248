/*
 * event.h - the one definition of a kernel -> user-space event of nitrace's capture.
 *
 * Included by capture/nitrace.bpf.c. capture/eventLayout.ts mirrors the offsets for the decoder, and
 * capture/eventLayout.test.ts parses this file to check that the two agree: change both together and bump
 * NT_EVENT_VERSION (and the Parquet schema version in docs/capture-schema.md if a column changes).
 *
 * Every record in the ring buffer is one `struct nt_event` followed by `payload_len` payload bytes.
 * Integers are little-endian (x86_64). Ports are in host byte order, addresses in network byte order
 * (IPv4 in the first 4 bytes of the 16).
 */
#ifndef NITRACE_EVENT_H
#define NITRACE_EVENT_H

#define NT_EVENT_VERSION 2

/* Largest --snaplen / --snaplen-port accepted; a power of two so the BPF verifier can bound copies by masking. */
#define NT_MAX_SNAPLEN 65536

/* kind */
#define NT_KIND_DATA 1    /* bytes sent or received on a TCP socket */
#define NT_KIND_CONNECT 2 /* connect() on a TCP socket returned 0 or -EINPROGRESS */
#define NT_KIND_ACCEPT 3  /* accept()/accept4() returned a new fd (4-tuple unknown here: see first data event) */
#define NT_KIND_CLOSE 4   /* close() of an fd nitrace had seen carrying TCP data */
#define NT_KIND_BLOCK 5   /* a read/write-family op on a traced TCP socket returned -EAGAIN (non-blocking socket) */
#define NT_KIND_GREEN_SPAWN 6 /* a greenlet was created: gid = the new one, parent_gid = the one running */

/* direction (NT_KIND_DATA and NT_KIND_BLOCK) */
#define NT_DIR_SEND 1
#define NT_DIR_RECV 2

/* syscall that produced the event */
#define NT_SYS_READ 1
#define NT_SYS_READV 2
#define NT_SYS_RECVFROM 3
#define NT_SYS_RECVMSG 4
#define NT_SYS_RECVMMSG 5
#define NT_SYS_WRITE 6
#define NT_SYS_WRITEV 7
#define NT_SYS_SENDTO 8
#define NT_SYS_SENDMSG 9
#define NT_SYS_SENDMMSG 10
#define NT_SYS_SENDFILE 11
#define NT_SYS_CONNECT 12
#define NT_SYS_ACCEPT 13
#define NT_SYS_ACCEPT4 14
#define NT_SYS_CLOSE 15
#define NT_SYS_UNTRACKED 16 /* the syscall began before the probes were attached: no fd, no payload */
/* 0: no syscall (green_spawn, from a uprobe in greenlet): the `syscall` column is NULL */

/* Indexes of the per-CPU counters map (summed by the agent and written to the manifest). */
#define NT_CNT_EMITTED 0        /* events handed to the ring buffer */
#define NT_CNT_RINGBUF_DROP 1   /* bpf_ringbuf_output failed (ring full): the event is lost */
#define NT_CNT_PAYLOAD_FAULT 2  /* payload could not be read from user memory: event kept, payload_len 0 */
#define NT_CNT_ACTIVE_FULL 3    /* no room to remember a syscall in flight: the event is lost */
#define NT_CNT_FILTERED 4       /* socket syscalls dropped by --port / --netns filters */
#define NT_CNT_GREEN_SWITCHES 5 /* greenlet switches seen in traced processes (each one a uprobe hit) */
#define NT_CNT_MAX 6

struct nt_event {
	unsigned long long ts_mono_ns; /*  0: bpf_ktime_get_ns() at syscall exit (CLOCK_MONOTONIC) */
	unsigned long long conn_id;    /*  8: kernel socket address xor a per-capture random salt */
	unsigned int pid;              /* 16: process id (tgid) */
	unsigned int tid;              /* 20: thread id */
	int fd;                        /* 24: file descriptor (-1 if unknown) */
	unsigned int bytes;            /* 28: bytes the syscall moved (sum over messages for *mmsg) */
	unsigned int tcp_seq;          /* 32: TCP sequence number of the first byte moved (data events) */
	unsigned int netns;            /* 36: network namespace inode number of the socket */
	unsigned short local_port;     /* 40 */
	unsigned short remote_port;    /* 42 */
	unsigned int payload_len;      /* 44: payload bytes following this header (<= snaplen) */
	unsigned char kind;            /* 48: NT_KIND_* */
	unsigned char direction;       /* 49: NT_DIR_* or 0 */
	unsigned char family;          /* 50: AF_INET (2) or AF_INET6 (10); 0 if unknown */
	unsigned char syscall;         /* 51: NT_SYS_* */
	unsigned char pad[4];          /* 52 */
	unsigned char local_addr[16];  /* 56 */
	unsigned char remote_addr[16]; /* 72 */
	char comm[16];                 /* 88: thread name (comm) */
	unsigned long long gid;        /* 104: greenlet running on the thread (address xor salt); 0 unknown */
	unsigned long long parent_gid; /* 112: green_spawn: the greenlet that created it; 0 otherwise */
	/* 120: payload */
};

#define NT_EVENT_HEADER_SIZE 120

#endif
