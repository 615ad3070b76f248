/*
 * probe_common.h - what the two kernel programs of `nitrace capture` share: nitrace.bpf.c (--mode full) and
 * sketch.bpf.c (--mode sketch). Kernel constants (BCC compiles with another kernel's headers, so only stable ABI
 * values, with a trailing _), the key of the --comm filter map, and reading a socket's 4-tuple.
 *
 * No maps and no map calls here: BCC rewrites `map.lookup(...)` into BPF helper calls only in the file it compiles
 * (a call left in a header becomes an indirect call the verifier rejects, "unknown opcode 8d"). So the filter maps
 * (excluded_pids, pid_filter, comm_filter, port_filter, netns_filter, filled alike by capture/agent.py and
 * capture/sketch_agent.py) and the few lines that look them up stay in each program.
 *
 * Needs the OFF_* struct offsets (capture/btf_offsets.py) as -D flags.
 */
#ifndef NITRACE_PROBE_COMMON_H
#define NITRACE_PROBE_COMMON_H

#define AF_INET_ 2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6
#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_SYN_RECV_ 3
#define TCP_FIN_WAIT1_ 4
#define TCP_TIME_WAIT_ 6
#define TCP_CLOSE_ 7
#define TCP_CLOSE_WAIT_ 8
#define TCP_LAST_ACK_ 9
#define TCP_CLOSING_ 11
#define MSG_PEEK_ 2

struct comm_key_t {
	char comm[16];
};

/* A socket's identity as both programs record it; the addresses go to the caller's 16-byte arrays (zeroed by the
 * caller), in network byte order, IPv4 in the first 4 bytes. */
struct sock_tuple {
	u16 family;
	u16 lport; /* host byte order */
	u16 rport; /* host byte order */
	u32 netns; /* network namespace inode */
};

/* Read family, ports, addresses and netns from `struct sock` (offsets from the running kernel's BTF). */
static __always_inline void read_sock_tuple(void *sk, struct sock_tuple *t, u8 *laddr, u8 *raddr)
{
	u16 fam = 0, dport = 0, num = 0;
	bpf_probe_read_kernel(&fam, sizeof(fam), sk + OFF_SKC_FAMILY);
	bpf_probe_read_kernel(&dport, sizeof(dport), sk + OFF_SKC_DPORT);
	bpf_probe_read_kernel(&num, sizeof(num), sk + OFF_SKC_NUM);
	if (fam == AF_INET6_) {
		bpf_probe_read_kernel(laddr, 16, sk + OFF_SKC_V6_RCV_SADDR);
		bpf_probe_read_kernel(raddr, 16, sk + OFF_SKC_V6_DADDR);
	} else {
		bpf_probe_read_kernel(laddr, 4, sk + OFF_SKC_RCV_SADDR);
		bpf_probe_read_kernel(raddr, 4, sk + OFF_SKC_DADDR);
	}
	void *net = 0;
	u32 netns = 0;
	bpf_probe_read_kernel(&net, sizeof(net), sk + OFF_SKC_NET);
	if (net)
		bpf_probe_read_kernel(&netns, sizeof(netns), net + OFF_NET_NS_INUM);
	t->family = fam;
	t->lport = num;
	t->rport = __builtin_bswap16(dport);
	t->netns = netns;
}

#endif
