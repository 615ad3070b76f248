/*
 * uring_send.c - sends one message on a loopback TCP connection through io_uring (IORING_OP_SEND), and reads it
 * back with read(2), for capture/coverage.live.test.ts. Raw syscalls: no liburing headers needed.
 *
 *   uring_send BYTES     prints "<client port> <server port> <bytes sent by io_uring>"
 */
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 100;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (bind(l, (void *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (void *)&a, &len))
		return perror("listen"), 1;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof(a)))
		return perror("connect"), 1;
	int s = accept(l, NULL, NULL);
	struct sockaddr_in me;
	len = sizeof(me);
	getsockname(c, (void *)&me, &len);

	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0)
		return perror("io_uring_setup"), 2;
	size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return perror("mmap"), 2;

	char *buf = malloc(n);
	for (size_t i = 0; i < n; i++)
		buf[i] = 'a' + i % 26;
	unsigned tail = *(unsigned *)(sq + p.sq_off.tail);
	unsigned idx = tail & *(unsigned *)(sq + p.sq_off.ring_mask);
	struct io_uring_sqe *e = &sqes[idx];
	memset(e, 0, sizeof(*e));
	e->opcode = IORING_OP_SEND;
	e->fd = c;
	e->addr = (unsigned long)buf;
	e->len = (unsigned)n;
	((unsigned *)(sq + p.sq_off.array))[idx] = idx;
	__atomic_store_n((unsigned *)(sq + p.sq_off.tail), tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return perror("io_uring_enter"), 2;
	unsigned head = *(unsigned *)(cq + p.cq_off.head);
	struct io_uring_cqe *cqe = &((struct io_uring_cqe *)(cq + p.cq_off.cqes))[head & *(unsigned *)(cq + p.cq_off.ring_mask)];
	int sent = cqe->res;
	__atomic_store_n((unsigned *)(cq + p.cq_off.head), head + 1, __ATOMIC_RELEASE);

	size_t got = 0;
	while (sent > 0 && got < (size_t)sent) {
		ssize_t r = read(s, buf, n);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	printf("%d %d %d\n", ntohs(me.sin_port), ntohs(a.sin_port), sent);
	return 0;
}
