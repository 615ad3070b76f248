/*
 * syscall_loop.c - load generator for bench/captureBench.ts (`make bench`).
 *
 *   syscall_loop tcp N BYTES [threads]   per thread: N x (write BYTES to a loopback TCP socket + read them on the peer)
 *   syscall_loop devnull N BYTES         N x write BYTES to /dev/null (a hooked syscall on a non-socket fd)
 *   syscall_loop getppid N               N x getppid() (a syscall no probe hooks: shows a host-wide slow path, if any)
 *
 * Prints "<syscalls> <elapsed wall ns> <process CPU ns>" on stdout. Each tcp iteration is two socket syscalls.
 * BPF programs on syscall or socket tracepoints run in the calling thread, so their cost shows in its CPU time;
 * wall time would also count time spent waiting for a CPU (other load, the capture's own user-space work).
 * The benchmark runs this binary under two names: one the capture traces (--comm), one it does not.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_BYTES 65536

static long n_iter;
static size_t n_bytes;

static long long clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#define now_ns() clock_ns(CLOCK_MONOTONIC)
#define cpu_ns() clock_ns(CLOCK_PROCESS_CPUTIME_ID)

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *tcp_worker(void *arg)
{
	(void)arg;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (bind(l, (void *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (void *)&a, &len))
		die("listen");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof(a)))
		die("connect");
	int s = accept(l, NULL, NULL);
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	static __thread char buf[MAX_BYTES];
	memset(buf, 'x', n_bytes);
	for (long i = 0; i < n_iter; i++) {
		if (write(c, buf, n_bytes) != (ssize_t)n_bytes)
			die("write");
		for (size_t got = 0; got < n_bytes;) { /* loop on a short read (rare on loopback; would add an uncounted syscall) */
			ssize_t r = read(s, buf, n_bytes - got);
			if (r <= 0)
				die("read");
			got += r;
		}
	}
	close(c);
	close(s);
	close(l);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s tcp N BYTES [threads] | devnull N BYTES | getppid N\n", argv[0]);
		return 2;
	}
	n_iter = atol(argv[2]);
	n_bytes = argc > 3 ? (size_t)atol(argv[3]) : 64;
	if (n_bytes < 1 || n_bytes > MAX_BYTES) {
		fprintf(stderr, "BYTES must be 1..%d\n", MAX_BYTES);
		return 2;
	}
	long long t0 = now_ns(), c0 = cpu_ns();
	long syscalls;
	if (!strcmp(argv[1], "tcp")) {
		int threads = argc > 4 ? atoi(argv[4]) : 1;
		pthread_t th[64];
		if (threads < 1 || threads > 64)
			return 2;
		for (int i = 0; i < threads; i++)
			pthread_create(&th[i], NULL, tcp_worker, NULL);
		for (int i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
		syscalls = 2 * n_iter * threads;
	} else if (!strcmp(argv[1], "devnull")) {
		int fd = open("/dev/null", O_WRONLY);
		static char buf[MAX_BYTES];
		for (long i = 0; i < n_iter; i++)
			if (write(fd, buf, n_bytes) != (ssize_t)n_bytes)
				die("write");
		syscalls = n_iter;
	} else if (!strcmp(argv[1], "getppid")) {
		for (long i = 0; i < n_iter; i++)
			syscall(SYS_getppid); /* not the libc wrapper: it must enter the kernel every time */
		syscalls = n_iter;
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("%ld %lld %lld\n", syscalls, now_ns() - t0, cpu_ns() - c0);
	return 0;
}
