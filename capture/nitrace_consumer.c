/*
 * nitrace_consumer.c - drains nitrace's BPF ring buffer and hands self-contained events to `nitrace capture`.
 *
 * USAGE (started by capture/agent.py, which loads the BPF program and passes the maps' fds):
 *   nitrace_consumer --ring-fd FD --ring-bytes N --fast-fd FD --fast-cpus N --fast-bytes N --fast-stride N
 *                    [--stats-fd FD] [--max-queue-mb M]          drain the kernel's rings
 *   nitrace_consumer --input FILE|- [--stats-fd FD]              the same records from a file (tests, benchmarks)
 *
 * The kernel writes to two kinds of rings (capture/nitrace.bpf.c): one per CPU for socket I/O (`fast`, an mmap-able
 * array: head, tail, data) and BPF's ring buffer for the rest (`events`). Records are the same in both: an 8-byte
 * header (length) and a struct nt_krec_* (capture/event.h).
 *
 * Why C and two threads: the rings must never wait for Node. A reader thread drains them as fast as the kernel
 * fills them (it polls: the kernel never wakes it, a wakeup per event would cost the traced threads more than the
 * event) and turns the compact records into self-contained events (struct nt_event + payload, framed like ring
 * records) in memory; a writer thread writes them to stdout. When Node pauses (segments being written), the queue
 * grows, up to --max-queue-mb (default 1024); only beyond that does the reader stop draining and let the kernel
 * count ring overflows. The reader keeps the connection table (NT_REC_CONN) and thread table (NT_REC_THREAD) so
 * that the kernel sends each 4-tuple and thread name once. A record may name a connection or thread whose record
 * is still in another CPU's ring: such events wait (PENDING_ROUNDS drain rounds at most, then go out without it,
 * counted as unknown).
 *
 * Stats: one JSON line on --stats-fd every 250 ms and a final one ("final": true) after SIGTERM/SIGINT, once the
 * ring is drained and every event is written. Exit 0 then; 1 if stdout broke; 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "event.h"

#define RINGBUF_BUSY_BIT (1U << 31)
#define RINGBUF_DISCARD_BIT (1U << 30)
#define RINGBUF_HDR 8
#define CHUNK_BYTES (1 << 20)
#define POLL_NS 5000000L
/*
 * A chunk that is not full goes to the writer once it is this old: at the rates of a real service (hundreds to
 * thousands of events/s) handing one over every poll woke Node up to 200 times a second for a few events each, and
 * each wake-up cost more than its events (a capture of glance at 25 requests/s: ~30 ms CPU per second). Busy rings
 * fill a chunk long before; nothing downstream needs the events sooner (segments are closed every few seconds).
 */
#define HANDOVER_NS 200000000L
#define STATS_NS 250000000L
#define PENDING_ROUNDS 20

/* ---- small open-addressing tables (connection number -> connection, tid -> thread) ---- */

struct conn_entry {
	uint32_t key; /* 0: empty */
	struct nt_krec_conn rec;
};

struct thread_entry {
	uint32_t key;
	uint32_t pid;
	char comm[16];
};

#define TABLE(NAME, ENTRY)                                                                                         \
	struct NAME {                                                                                              \
		struct ENTRY *slots;                                                                               \
		uint32_t mask, used;                                                                               \
	};                                                                                                         \
	static struct ENTRY *NAME##_find(struct NAME *t, uint32_t key, int insert)                               \
	{                                                                                                          \
		if (insert && (t->used + 1) * 2 > t->mask + 1) {                                                   \
			struct NAME grown = { calloc((size_t)(t->mask + 1) * 2, sizeof(struct ENTRY)),               \
					      t->mask * 2 + 1, 0 };                                                 \
			if (!grown.slots) {                                                                        \
				perror("nitrace_consumer: table");                                                 \
				exit(1);                                                                           \
			}                                                                                          \
			for (uint32_t i = 0; i <= t->mask; i++)                                                    \
				if (t->slots[i].key)                                                               \
					*NAME##_find(&grown, t->slots[i].key, 1) = t->slots[i];                     \
			free(t->slots);                                                                            \
			*t = grown;                                                                                \
		}                                                                                                  \
		for (uint32_t i = (key * 2654435761u) & t->mask;; i = (i + 1) & t->mask) {                         \
			if (t->slots[i].key == key)                                                                \
				return &t->slots[i];                                                               \
			if (!t->slots[i].key) {                                                                    \
				if (!insert)                                                                       \
					return NULL;                                                               \
				t->used++;                                                                         \
				t->slots[i].key = key;                                                             \
				return &t->slots[i];                                                               \
			}                                                                                          \
		}                                                                                                  \
	}

TABLE(conn_table, conn_entry)
TABLE(thread_table, thread_entry)

/* ---- output queue: chunks filled by the reader, written by the writer ---- */

struct chunk {
	struct chunk *next;
	size_t len;
	size_t size; /* of data: CHUNK_BYTES, or more for one record longer than that */
	uint64_t events;
	uint8_t data[CHUNK_BYTES];
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct chunk *queue_head, *queue_tail; /* full chunks waiting for the writer */
static struct chunk *filling;                 /* the reader's current chunk (not in the queue) */
static long long filling_since;               /* when the first record went into it (CLOCK_MONOTONIC ns) */
/*
 * Written chunks kept for reuse (at most SPARE_CHUNKS). A freed 1 MiB chunk goes back to the kernel (glibc mmaps
 * blocks this large, or trims them off its heap), and the next one is fresh memory: on the lab VM each first touch
 * of a page costs ~17 us (status of the kernel side: the same holds for the BPF rings), ~4 ms per chunk, more than
 * filling it. Reused chunks are already mapped.
 */
#define SPARE_CHUNKS 16
static struct chunk *spare_chunks; /* linked by next, under queue_lock */
static int n_spare_chunks;
static size_t queued_bytes, max_queued_bytes, queue_limit;
static int reader_done, writer_failed;

static volatile sig_atomic_t stopping;

/* Counters (reader thread, except out_bytes: writer). */
static uint64_t n_records, n_events, n_conns, n_threads, n_unknown_conn, n_unknown_thread, n_malformed, in_bytes;
static _Atomic uint64_t out_bytes, out_events; /* written to stdout (writer thread) */

static void hand_over(void)
{
	if (!filling || !filling->len)
		return;
	pthread_mutex_lock(&queue_lock);
	filling->next = NULL;
	if (queue_tail)
		queue_tail->next = filling;
	else
		queue_head = filling;
	queue_tail = filling;
	queued_bytes += filling->len;
	if (queued_bytes > max_queued_bytes)
		max_queued_bytes = queued_bytes;
	pthread_cond_signal(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	filling = NULL;
}

static long long now_ns(void);

/* Room for `n` output bytes in the current chunk (a record longer than a chunk gets a chunk of its own size). */
static uint8_t *out_reserve(size_t n)
{
	if (filling && filling->len + n > CHUNK_BYTES)
		hand_over();
	if (!filling && n <= CHUNK_BYTES) {
		pthread_mutex_lock(&queue_lock);
		if ((filling = spare_chunks)) {
			spare_chunks = filling->next;
			n_spare_chunks--;
		}
		pthread_mutex_unlock(&queue_lock);
		if (filling) {
			filling->len = 0;
			filling->events = 0;
		}
	}
	if (!filling) {
		size_t size = n > CHUNK_BYTES ? n : CHUNK_BYTES;
		filling = malloc(sizeof(struct chunk) - CHUNK_BYTES + size);
		if (!filling) {
			perror("nitrace_consumer: queue");
			exit(1);
		}
		filling->len = 0;
		filling->size = size;
		filling->events = 0;
	}
	if (!filling->len)
		filling_since = now_ns();
	uint8_t *p = filling->data + filling->len;
	filling->len += n;
	return p;
}

static int queue_full(void)
{
	pthread_mutex_lock(&queue_lock);
	int full = queued_bytes >= queue_limit;
	pthread_mutex_unlock(&queue_lock);
	return full;
}

static void *writer(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&queue_lock);
		while (!queue_head && !reader_done)
			pthread_cond_wait(&queue_cond, &queue_lock);
		struct chunk *c = queue_head;
		if (!c) {
			pthread_mutex_unlock(&queue_lock);
			return NULL;
		}
		queue_head = c->next;
		if (!queue_head)
			queue_tail = NULL;
		pthread_mutex_unlock(&queue_lock);
		for (size_t off = 0; off < c->len && !writer_failed;) {
			ssize_t w = write(1, c->data + off, c->len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				writer_failed = 1;
				break;
			}
			off += (size_t)w;
		}
		out_bytes += c->len;
		out_events += c->events;
		pthread_mutex_lock(&queue_lock);
		queued_bytes -= c->len;
		int keep = c->size == CHUNK_BYTES && n_spare_chunks < SPARE_CHUNKS;
		if (keep) {
			c->next = spare_chunks;
			spare_chunks = c;
			n_spare_chunks++;
		}
		pthread_mutex_unlock(&queue_lock);
		if (!keep)
			free(c);
	}
}

/* ---- records ---- */

static struct conn_table conns;
static struct thread_table threads;

/* Events waiting for a connection or thread record (copies of the kernel records, with their age in rounds). */
static uint8_t *pending, *pending_next;
static size_t pending_len, pending_cap, pending_next_len, pending_next_cap;

static void pending_add(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *rec, uint32_t reclen, uint32_t rounds)
{
	size_t need = 8 + ((reclen + 7) & ~7u);
	if (*len + need > *cap) {
		size_t grown = (*cap ? *cap * 2 : 1 << 16);
		while (grown < *len + need)
			grown *= 2;
		uint8_t *p = realloc(*buf, grown);
		if (!p) {
			perror("nitrace_consumer: pending");
			exit(1);
		}
		*buf = p;
		*cap = grown;
	}
	memcpy(*buf + *len, &reclen, 4);
	memcpy(*buf + *len + 4, &rounds, 4);
	memcpy(*buf + *len + 8, rec, reclen);
	*len += need;
}

/* Write one event; returns 0 (and writes nothing) if what it names is unknown and `force` is not set. */
static int on_event(const uint8_t *rec, uint32_t len, int force)
{
	const struct nt_krec_event *k = (const void *)rec;
	uint32_t payload = k->payload_len | ((k->info & NT_INFO_LEN16) ? 0x10000u : 0);
	if (len < NT_KREC_EVENT_SIZE + payload) {
		n_malformed++;
		return 1;
	}
	struct conn_entry *c = k->conn ? conn_table_find(&conns, k->conn, 0) : NULL;
	struct thread_entry *t = thread_table_find(&threads, k->tid, 0);
	if (!force && ((k->conn && !c) || !t))
		return 0;
	size_t total = (RINGBUF_HDR + NT_EVENT_HEADER_SIZE + payload + 7) & ~(size_t)7;
	uint8_t *o = out_reserve(total);
	uint32_t hdr[2] = { NT_EVENT_HEADER_SIZE + payload, 0 };
	memcpy(o, hdr, RINGBUF_HDR);
	struct nt_event *e = (void *)(o + RINGBUF_HDR);
	memset(e, 0, sizeof(*e));
	e->ts_mono_ns = k->ts_mono_ns;
	e->tid = k->tid;
	e->fd = k->fd;
	e->kind = k->kind;
	e->direction = NT_INFO_DIR(k->info);
	e->syscall = NT_INFO_SYSCALL(k->info);
	e->payload_len = payload;
	e->gid = k->gid;
	if (k->kind == NT_KIND_GREEN_SPAWN) {
		e->parent_gid = (uint64_t)k->tcp_seq << 32 | k->bytes;
	} else {
		e->bytes = k->bytes;
		e->tcp_seq = k->tcp_seq;
	}
	if (c) {
		e->conn_id = c->rec.conn_id;
		e->netns = c->rec.netns;
		e->local_port = c->rec.local_port;
		e->remote_port = c->rec.remote_port;
		e->family = c->rec.family;
		memcpy(e->local_addr, c->rec.local_addr, 16);
		memcpy(e->remote_addr, c->rec.remote_addr, 16);
	} else if (k->conn) {
		n_unknown_conn++;
	}
	if (t) {
		e->pid = t->pid;
		memcpy(e->comm, t->comm, 16);
	} else {
		e->pid = k->tid;
		n_unknown_thread++;
	}
	memcpy(o + RINGBUF_HDR + NT_EVENT_HEADER_SIZE, rec + NT_KREC_EVENT_SIZE, payload);
	size_t pad = total - (RINGBUF_HDR + NT_EVENT_HEADER_SIZE + payload);
	memset(o + total - pad, 0, pad);
	n_events++;
	filling->events++;
	return 1;
}

static void on_record(const uint8_t *rec, uint32_t len)
{
	n_records++;
	if (len < 40) {
		n_malformed++;
		return;
	}
	switch (rec[38]) {
	case NT_REC_CONN:
		if (len < NT_KREC_CONN_SIZE) {
			n_malformed++;
			return;
		}
		conn_table_find(&conns, ((const struct nt_krec_conn *)rec)->conn, 1)->rec = *(const struct nt_krec_conn *)rec;
		n_conns++;
		return;
	case NT_REC_THREAD: {
		const struct nt_krec_thread *r = (const void *)rec;
		struct thread_entry *t = thread_table_find(&threads, r->tid, 1);
		t->pid = r->pid;
		memcpy(t->comm, r->comm, 16);
		n_threads++;
		return;
	}
	default:
		if (!on_event(rec, len, 0))
			pending_add(&pending, &pending_len, &pending_cap, rec, len, 0);
	}
}

/* After a drain round: events that waited get another try; the oldest go out as they are. */
static void retry_pending(int final)
{
	if (!pending_len)
		return;
	pending_next_len = 0;
	for (size_t off = 0; off < pending_len;) {
		uint32_t len, rounds;
		memcpy(&len, pending + off, 4);
		memcpy(&rounds, pending + off + 4, 4);
		const uint8_t *rec = pending + off + 8;
		if (!on_event(rec, len, final || rounds + 1 >= PENDING_ROUNDS))
			pending_add(&pending_next, &pending_next_len, &pending_next_cap, rec, len, rounds + 1);
		off += 8 + ((len + 7) & ~7u);
	}
	uint8_t *swap = pending;
	size_t swap_cap = pending_cap;
	pending = pending_next;
	pending_cap = pending_next_cap;
	pending_len = pending_next_len;
	pending_next = swap;
	pending_next_cap = swap_cap;
}

/* ---- input: the BPF ring buffer (kernel/bpf/ringbuf.c layout), or a file of the same records ---- */

struct ring {
	volatile uint64_t *consumer_pos;
	volatile uint64_t *producer_pos;
	uint8_t *data; /* mapped twice in a row: any record reads contiguously */
	uint64_t mask;
};

static int ring_open(struct ring *r, int fd, uint64_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cons == MAP_FAILED)
		return -1;
	void *prod = mmap(NULL, page + 2 * size, PROT_READ, MAP_SHARED, fd, page);
	if (prod == MAP_FAILED)
		return -1;
	r->consumer_pos = cons;
	r->producer_pos = prod;
	r->data = (uint8_t *)prod + page;
	r->mask = size - 1;
	return 0;
}

/* Consume every committed record; returns how many bytes of ring were consumed. */
static uint64_t ring_drain(struct ring *r)
{
	uint64_t cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE), start = cons, published = cons;
	uint64_t prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	while (cons < prod) {
		uint32_t *hdr = (uint32_t *)(r->data + (cons & r->mask));
		uint32_t h = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (h & RINGBUF_BUSY_BIT)
			break; /* still being written: records are committed in order of reservation */
		uint32_t len = h & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
		if (!(h & RINGBUF_DISCARD_BIT))
			on_record((uint8_t *)hdr + RINGBUF_HDR, len);
		cons += (len + RINGBUF_HDR + 7) & ~7ULL;
		if (cons - published >= (1 << 20)) { /* give space back every MiB, not per record (a shared cache line) */
			__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
			published = cons;
		}
	}
	__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
	in_bytes += cons - start;
	return cons - start;
}

/* One CPU's ring of the `fast` array (capture/nitrace.bpf.c, struct fast_ring): head at 0, tail at 64, data at
 * 128, records written contiguously even past the end (the array has room for the longest). */
struct fast_ring {
	volatile uint64_t *head;
	volatile uint64_t *tail;
	uint8_t *data;
	uint64_t mask;
};

static uint64_t fast_drain(struct fast_ring *r)
{
	uint64_t tail = *r->tail, start = tail;
	uint64_t head = __atomic_load_n(r->head, __ATOMIC_ACQUIRE); /* records before head are complete */
	while (tail < head) {
		uint32_t len;
		memcpy(&len, r->data + (tail & r->mask), 4);
		on_record(r->data + (tail & r->mask) + RINGBUF_HDR, len);
		tail += (len + RINGBUF_HDR + 7) & ~7ULL;
	}
	__atomic_store_n(r->tail, tail, __ATOMIC_RELEASE);
	in_bytes += tail - start;
	return tail - start;
}

/* --input: records with ring headers, back to back (what bench and tests replay). */
static int file_drain(int fd)
{
	static uint8_t *buf;
	static size_t cap = 1 << 22, have;
	if (!buf && !(buf = malloc(cap)))
		return -1;
	ssize_t n = read(fd, buf + have, cap - have);
	if (n < 0)
		return errno == EINTR ? 1 : -1;
	if (n == 0)
		return 0;
	have += (size_t)n;
	in_bytes += (uint64_t)n;
	size_t off = 0;
	while (off + RINGBUF_HDR <= have) {
		uint32_t h;
		memcpy(&h, buf + off, 4);
		uint32_t len = h & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
		size_t total = (len + RINGBUF_HDR + 7) & ~(size_t)7;
		if (off + total > have) {
			if (total > cap) { /* a record larger than the buffer: grow it */
				uint8_t *grown = realloc(buf, total * 2);
				if (!grown)
					return -1;
				buf = grown;
				cap = total * 2;
			}
			break;
		}
		if (!(h & RINGBUF_DISCARD_BIT))
			on_record(buf + off + RINGBUF_HDR, len);
		off += total;
	}
	memmove(buf, buf + off, have - off);
	have -= off;
	return 1;
}

/* ---- main ---- */

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_stats(int fd, int final)
{
	if (fd < 0)
		return;
	pthread_mutex_lock(&queue_lock);
	size_t q = queued_bytes, mq = max_queued_bytes;
	pthread_mutex_unlock(&queue_lock);
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "{\"records\":%llu,\"events\":%llu,\"events_written\":%llu,\"conns\":%llu,\"threads\":%llu,"
			 "\"unknown_conn\":%llu,\"unknown_thread\":%llu,\"malformed\":%llu,\"bytes_in\":%llu,"
			 "\"bytes_out\":%llu,\"queued_bytes\":%zu,\"max_queued_bytes\":%zu,\"pending_bytes\":%zu,\"final\":%s}\n",
			 (unsigned long long)n_records, (unsigned long long)n_events, (unsigned long long)out_events,
			 (unsigned long long)n_conns, (unsigned long long)n_threads, (unsigned long long)n_unknown_conn,
			 (unsigned long long)n_unknown_thread, (unsigned long long)n_malformed,
			 (unsigned long long)in_bytes, (unsigned long long)out_bytes, q, mq, pending_len, final ? "true" : "false");
	if (write(fd, line, (size_t)n) < 0) {
		/* the launcher is gone; PR_SET_PDEATHSIG stops us */
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: nitrace_consumer (--ring-fd FD --ring-bytes N --fast-fd FD --fast-cpus N --fast-bytes N --fast-stride N\n"
			"                         | --input FILE|-) [--stats-fd FD] [--max-queue-mb M]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int ring_fd = -1, stats_fd = -1, in_fd = -1, fast_fd = -1, fast_cpus = 0;
	uint64_t ring_bytes = 0, fast_bytes = 0, fast_stride = 0;
	queue_limit = (size_t)1024 << 20;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ring-fd"))
			ring_fd = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ring-bytes"))
			ring_bytes = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--fast-fd"))
			fast_fd = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--fast-cpus"))
			fast_cpus = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--fast-bytes"))
			fast_bytes = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--fast-stride"))
			fast_stride = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--stats-fd"))
			stats_fd = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--max-queue-mb"))
			queue_limit = (size_t)strtoull(argv[i + 1], NULL, 10) << 20;
		else if (!strcmp(argv[i], "--input"))
			in_fd = strcmp(argv[i + 1], "-") ? open(argv[i + 1], O_RDONLY) : 0;
		else
			usage();
	}
	if ((ring_fd < 0) == (in_fd < 0) || (ring_fd >= 0 && (!ring_bytes || (ring_bytes & (ring_bytes - 1)))))
		usage();
	if (ring_fd >= 0 && (fast_fd < 0 || fast_cpus < 1 || !fast_bytes || (fast_bytes & (fast_bytes - 1)) || fast_stride < fast_bytes + 128))
		usage();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	conns = (struct conn_table){ calloc(1024, sizeof(struct conn_entry)), 1023, 0 };
	threads = (struct thread_table){ calloc(1024, sizeof(struct thread_entry)), 1023, 0 };
	struct ring ring;
	struct fast_ring *fast = calloc(fast_cpus > 0 ? fast_cpus : 1, sizeof(*fast));
	if (ring_fd >= 0) {
		if (ring_open(&ring, ring_fd, ring_bytes)) {
			perror("nitrace_consumer: mmap of the ring buffer");
			return 1;
		}
		long page = sysconf(_SC_PAGESIZE);
		size_t size = ((size_t)fast_cpus * fast_stride + page - 1) / page * page;
		uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fast_fd, 0);
		if (base == MAP_FAILED) {
			perror("nitrace_consumer: mmap of the per-CPU rings");
			return 1;
		}
		for (int i = 0; i < fast_cpus; i++) {
			uint8_t *elem = base + (size_t)i * fast_stride;
			fast[i] = (struct fast_ring){ (uint64_t *)elem, (uint64_t *)(elem + 64), elem + 128, fast_bytes - 1 };
		}
	}
	pthread_t w;
	pthread_create(&w, NULL, writer, NULL);
	long long next_stats = now_ns() + STATS_NS;
	for (;;) {
		int more;
		if (ring_fd >= 0) {
			int stop = stopping; /* read before draining: what the kernel wrote before the stop is drained */
			if (!queue_full()) {
				ring_drain(&ring);
				for (int i = 0; i < fast_cpus; i++)
					fast_drain(&fast[i]);
				retry_pending(0);
			}
			more = !stop;
			if (!more || (filling && filling->len && now_ns() - filling_since >= HANDOVER_NS))
				hand_over();
			if (more) {
				struct timespec ts = { 0, POLL_NS };
				nanosleep(&ts, NULL);
			}
		} else if (queue_full()) {
			hand_over();
			struct timespec ts = { 0, 1000000L };
			nanosleep(&ts, NULL);
			more = !stopping;
		} else {
			more = file_drain(in_fd) > 0 && !stopping;
			retry_pending(0);
		}
		if (writer_failed)
			break;
		if (now_ns() >= next_stats) {
			write_stats(stats_fd, 0);
			next_stats = now_ns() + STATS_NS;
		}
		if (!more)
			break;
	}
	retry_pending(1);
	hand_over();
	pthread_mutex_lock(&queue_lock);
	reader_done = 1;
	pthread_cond_signal(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	pthread_join(w, NULL);
	write_stats(stats_fd, 1);
	return writer_failed ? 1 : 0;
}
