/*
 * event.h - the records of nitrace's capture: what the kernel writes to the ring buffer, and what the consumer
 * hands to `nitrace capture` (Node).
 *
 *   kernel (nitrace.bpf.c) --ring buffer--> consumer (nitrace_consumer.c) --pipe--> Node (recordDecoder.ts)
 *     compact records: struct nt_krec_*         self-contained events: struct nt_event + payload
 *
 * The kernel sends what does not change per event once: a connection's 4-tuple (NT_REC_CONN) when the socket is
 * first seen, a thread's pid and name (NT_REC_THREAD) when the thread is first seen or renamed; each event
 * (struct nt_krec_event, 40 bytes + payload) names them by number. The consumer keeps the tables and writes
 * every event whole (struct nt_event), so nothing downstream keeps state.
 *
 * capture/eventLayout.ts mirrors the offsets, and capture/eventLayout.test.ts compiles this file to check that the
 * two agree: change both together and bump NT_EVENT_VERSION (and the Parquet schema version in
 * docs/capture-schema.md if a column changes). Integers are little-endian (x86_64). Ports are in host byte order,
 * addresses in network byte order (IPv4 in the first 4 bytes of the 16).
 */
#ifndef NITRACE_EVENT_H
#define NITRACE_EVENT_H

#define NT_EVENT_VERSION 3

/* Largest --snaplen / --snaplen-port accepted; a power of two so the BPF verifier can bound copies by masking. */
#define NT_MAX_SNAPLEN 65536

/* kind (struct nt_event.kind, struct nt_krec_event.kind) */
#define NT_KIND_DATA 1    /* bytes sent or received on a TCP socket */
#define NT_KIND_CONNECT 2 /* connect() on a TCP socket reached ESTABLISHED (time and fd of the connect() call) */
#define NT_KIND_ACCEPT 3  /* schema 1 only: accept() returned a new fd (not emitted by the socket-layer probes) */
#define NT_KIND_CLOSE 4   /* close()/shutdown() of a traced TCP socket began the TCP close */
#define NT_KIND_BLOCK 5   /* a read/write-family op on a traced TCP socket returned -EAGAIN (non-blocking socket) */
#define NT_KIND_GREEN_SPAWN 6 /* a greenlet was created: gid = the new one, parent_gid = the one running */

/* Kernel-only record types (same byte as kind; never reach Node) */
#define NT_REC_CONN 100   /* struct nt_krec_conn: a connection's identity and 4-tuple */
#define NT_REC_THREAD 101 /* struct nt_krec_thread: a thread's process and name */

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
#define NT_SYS_UNTRACKED 16 /* socket I/O not made by a syscall nitrace decodes (io_uring, kernel threads, ...) */
#define NT_SYS_SHUTDOWN 17
#define NT_SYS_EXIT 18      /* the socket was closed because its process exited */
/* 0: no syscall (green_spawn, from a uprobe in greenlet): the `syscall` column is NULL */

/* Indexes of the per-CPU counters map (summed by the agent and written to the manifest). */
#define NT_CNT_EMITTED 0        /* events handed to a ring (connection and thread records not counted) */
#define NT_CNT_RINGBUF_DROP 1   /* a ring was full: the record (event, or connection/thread record) is lost */
#define NT_CNT_PAYLOAD_FAULT 2  /* payload could not be read from user memory: event kept, payload_len 0 */
#define NT_CNT_ACTIVE_FULL 3    /* no room in the connection table: the connection's events are lost */
#define NT_CNT_FILTERED 4       /* socket operations dropped by --port / --netns filters */
#define NT_CNT_GREEN_SWITCHES 5 /* greenlet switches seen in traced processes (each one a uprobe hit) */
#define NT_CNT_MAX 6

/* ---- kernel -> consumer (ring buffer). Every record has its type at byte 38. ---- */

/* One socket operation (or green_spawn): 40 bytes, then payload_len (+ 65536 if NT_INFO_LEN16) payload bytes. */
struct nt_krec_event {
	unsigned long long ts_mono_ns; /*  0: bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	unsigned long long gid;        /*  8: running greenlet (address xor salt); 0 unknown */
	unsigned int conn;             /* 16: connection number of an earlier NT_REC_CONN; 0 none */
	unsigned int tid;              /* 20: thread of an earlier NT_REC_THREAD */
	unsigned int bytes;            /* 24: bytes moved (green_spawn: parent_gid, low half) */
	unsigned int tcp_seq;          /* 28: TCP sequence number of the first byte moved (green_spawn: parent_gid, high) */
	int fd;                        /* 32: file descriptor, -1 if unknown */
	unsigned short payload_len;    /* 36: low 16 bits of the payload length */
	unsigned char kind;            /* 38: NT_KIND_* */
	unsigned char info;            /* 39: NT_SYS_* (bits 0-4), NT_DIR_* (bits 5-6), payload length bit 16 (bit 7) */
};
#define NT_KREC_EVENT_SIZE 40
#define NT_INFO_SYSCALL(i) ((i) & 0x1f)
#define NT_INFO_DIR(i) (((i) >> 5) & 3)
#define NT_INFO_LEN16 0x80

/* A connection, sent before the first event that names it. */
struct nt_krec_conn {
	unsigned long long conn_id;    /*  0: kernel socket address xor the capture salt, top bit clear */
	unsigned int conn;             /*  8: the number events use */
	unsigned int netns;            /* 12: network namespace inode */
	unsigned short local_port;     /* 16 */
	unsigned short remote_port;    /* 18 */
	unsigned char family;          /* 20: AF_INET (2) or AF_INET6 (10) */
	unsigned char pad[17];         /* 21 */
	unsigned char kind;            /* 38: NT_REC_CONN */
	unsigned char pad2;            /* 39 */
	unsigned char local_addr[16];  /* 40 */
	unsigned char remote_addr[16]; /* 56 */
};
#define NT_KREC_CONN_SIZE 72

/* A thread, sent before its first event and again after it is renamed. */
struct nt_krec_thread {
	unsigned int tid;              /*  0 */
	unsigned int pid;              /*  4: process id (tgid) */
	char comm[16];                 /*  8: thread name */
	unsigned char pad[14];         /* 24 */
	unsigned char kind;            /* 38: NT_REC_THREAD */
	unsigned char pad2;            /* 39 */
};
#define NT_KREC_THREAD_SIZE 40

/* ---- consumer -> Node (pipe): one self-contained event, then payload_len payload bytes. ---- */

struct nt_event {
	unsigned long long ts_mono_ns; /*  0: bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	unsigned long long conn_id;    /*  8: kernel socket address xor a per-capture random salt */
	unsigned int pid;              /* 16: process id (tgid) */
	unsigned int tid;              /* 20: thread id */
	int fd;                        /* 24: file descriptor (-1 if unknown) */
	unsigned int bytes;            /* 28: bytes the syscall moved */
	unsigned int tcp_seq;          /* 32: TCP sequence number of the first byte moved (data, block events) */
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
