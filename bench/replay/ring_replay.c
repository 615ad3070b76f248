/*
 * ring_replay.c - the kernel side of the capture, replayed: raw ring-buffer records at a fixed rate, with the
 * BPF ring buffer's loss behaviour, for the agent throughput benchmark (bench/captureBench.ts).
 *
 *   ring_replay FILE RATE SECONDS RING_BYTES [--wait-stdin] > consumer
 *
 * A producer thread appends the records of FILE (cycled) to an in-memory ring of RING_BYTES at RATE records/s
 * for SECONDS, in 1 ms steps; a record that does not fit is dropped and counted, as bpf_ringbuf_output does when
 * the consumer falls behind. A drain thread writes committed bytes to stdout (blocking), as the agent forwards
 * the ring. Prints {"produced":N,"dropped":N,"seconds":S} on stderr at the end.
 * The time the consumer needs is measured by the caller; the producer itself never waits for it, except at the
 * start with --wait-stdin: it produces once a byte (or EOF) arrives on stdin, which the caller sends when the
 * consumer is ready to read (otherwise the consumer's start-up, ~1 s of Node and DuckDB on a loaded machine, is a
 * backlog it must catch up inside a run of a few seconds, and the measured maximum rate is too low). The ring is
 * touched whole before that (a fresh page's first write is slow on some VMs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint8_t *file_data;
static size_t file_size;
static uint8_t *ring;
static size_t ring_size;
static _Atomic uint64_t prod_pos, cons_pos; /* byte positions, ever increasing */
static atomic_int producing = 1;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *drain(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t c = atomic_load(&cons_pos), p = atomic_load(&prod_pos);
		if (c == p) {
			if (!atomic_load(&producing) && atomic_load(&prod_pos) == c)
				return NULL;
			usleep(200);
			continue;
		}
		size_t off = c % ring_size, n = p - c;
		if (n > ring_size - off)
			n = ring_size - off; /* up to the end of the ring; the rest on the next turn */
		ssize_t w = write(1, ring + off, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			perror("ring_replay: write");
			exit(1);
		}
		atomic_store(&cons_pos, c + (uint64_t)w);
	}
}

int main(int argc, char **argv)
{
	int wait_stdin = argc == 6 && !strcmp(argv[5], "--wait-stdin");
	if (argc != 5 && !wait_stdin) {
		fprintf(stderr, "usage: %s FILE RATE SECONDS RING_BYTES [--wait-stdin]\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st)) {
		perror(argv[1]);
		return 1;
	}
	file_size = st.st_size;
	file_data = malloc(file_size);
	if (!file_data || fread(file_data, 1, file_size, f) != file_size) {
		perror("read");
		return 1;
	}
	fclose(f);
	double rate = atof(argv[2]), seconds = atof(argv[3]);
	ring_size = strtoull(argv[4], NULL, 10);
	ring = malloc(ring_size);
	if (!ring || rate <= 0 || seconds <= 0) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	memset(ring, 0, ring_size);
	if (wait_stdin) {
		char go;
		while (read(0, &go, 1) < 0 && errno == EINTR)
			;
	}
	pthread_t th;
	pthread_create(&th, NULL, drain, NULL);

	uint64_t produced = 0, dropped = 0;
	size_t fpos = 0;
	uint64_t target = (uint64_t)(rate * seconds); /* all of them, even if this thread was descheduled for a while */
	double t0 = now_s();
	while (produced + dropped < target) {
		double t = now_s() - t0;
		uint64_t due = (uint64_t)(t * rate) < target ? (uint64_t)(t * rate) : target;
		while (produced + dropped < due) {
			uint32_t len = *(uint32_t *)(file_data + fpos) & 0x3fffffffu;
			size_t total = (8 + len + 7) & ~(size_t)7;
			uint64_t p = atomic_load(&prod_pos);
			if (p + total - atomic_load(&cons_pos) > ring_size) {
				dropped++; /* ring full: the kernel would drop this event and count it */
			} else {
				size_t off = p % ring_size, first = total < ring_size - off ? total : ring_size - off;
				memcpy(ring + off, file_data + fpos, first); /* a record may wrap around the ring end */
				memcpy(ring, file_data + fpos + first, total - first);
				atomic_store(&prod_pos, p + total);
				produced++;
			}
			fpos += total;
			if (fpos >= file_size)
				fpos = 0;
		}
		usleep(1000);
	}
	double elapsed = now_s() - t0;
	atomic_store(&producing, 0);
	pthread_join(th, NULL);
	fprintf(stderr, "{\"produced\":%llu,\"dropped\":%llu,\"seconds\":%.3f}\n", (unsigned long long)produced, (unsigned long long)dropped, elapsed);
	return 0;
}
