/*
 * syscall_loop.c - load generator for bench/captureBench.ts.
 *
 *   syscall_loop tcp N [threads]   N x (write 64 B to a loopback TCP socket + read it on the peer) per thread
 *   syscall_loop devnull N         N x write 64 B to /dev/null (a hooked syscall on a non-socket fd)
 *
 * Prints "<syscalls> <elapsed wall ns> <process CPU ns>" on stdout. Each tcp iteration is two hooked socket
 * syscalls. BPF programs on syscall tracepoints run in the calling process, so their cost shows in its CPU time;
 * wall time also counts time the process waited for a CPU (other load, the capture's own user-space work).
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
#include <time.h>
#include <unistd.h>

static long n_iter;

static long long clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#define now_ns() clock_ns(CLOCK_MONOTONIC)
#define cpu_ns() clock_ns(CLOCK_PROCESS_CPUTIME_ID)

static void *tcp_worker(void *arg)
{
	(void)arg;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (bind(l, (void *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (void *)&a, &len)) {
		perror("listen");
		exit(1);
	}
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof(a))) {
		perror("connect");
		exit(1);
	}
	int s = accept(l, NULL, NULL);
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char buf[64];
	memset(buf, 'x', sizeof(buf));
	for (long i = 0; i < n_iter; i++) {
		if (write(c, buf, sizeof(buf)) != sizeof(buf) || read(s, buf, sizeof(buf)) <= 0) {
			perror("io");
			exit(1);
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
		fprintf(stderr, "usage: %s tcp|devnull N [threads]\n", argv[0]);
		return 2;
	}
	n_iter = atol(argv[2]);
	int threads = argc > 3 ? atoi(argv[3]) : 1;
	long long t0 = now_ns(), c0 = cpu_ns();
	if (!strcmp(argv[1], "tcp")) {
		pthread_t th[64];
		for (int i = 0; i < threads; i++)
			pthread_create(&th[i], NULL, tcp_worker, NULL);
		for (int i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
		printf("%ld %lld %lld\n", 2 * n_iter * threads, now_ns() - t0, cpu_ns() - c0);
	} else {
		int fd = open("/dev/null", O_WRONLY);
		char buf[64] = { 0 };
		for (long i = 0; i < n_iter; i++)
			if (write(fd, buf, sizeof(buf)) != sizeof(buf))
				return 1;
		printf("%ld %lld %lld\n", n_iter, now_ns() - t0, cpu_ns() - c0);
	}
	return 0;
}
