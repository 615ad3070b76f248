#!/usr/bin/python3
"""sketch_probe_cost.py - what sketch mode's kernel program costs per socket call, A/B between program versions.

USAGE (root; kernel.bpf_stats_enabled is switched on for the run and restored after):
    /usr/bin/python3 capture/sketch_probe_cost.py A.bpf.c B.bpf.c [--rounds 6] [--exchanges 20000] [--port 47311]

Each program is compiled once, with the cflags sketch_agent.py gives it for `--port PORT`, and attached in turn, in
rotating order with an "off" arm (nothing attached) in every round, so that the arms share the machine's load. An arm
runs a loopback TCP ping-pong of 64-byte requests and responses (two processes: four socket calls per exchange),
then the same over a Unix socket pair (calls the program must ignore: unix_*), and reports:
  bpf_ns_per_run   BPF run time per program run of the send/recv probes (run_time_ns / run_cnt from the prog's
                   fdinfo): the program only, without the tracepoint's own cost around it
  exchange_ns      wall time per exchange of the ping-pong (the tracepoint's cost included; compare with "off")
  cpu_ns           CPU time (user + system, both processes) per exchange: the same, less sensitive to load
Medians over rounds, one JSON object on stdout; load averages before and after on stderr and in the JSON.
"""
import json
import os
import resource
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sketch_agent import build_cflags, fill_filters  # noqa: E402

IO_PROBES = ("sock_send_length", "sock_recv_length")


def arg(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def ping_pong(port, exchanges, unix=False):
    """ns per exchange of a 64-byte request/response ping-pong between two processes over loopback (TCP), or
    over a Unix socket pair (unix=True: socket calls the program must ignore)."""
    if unix:
        cli, conn = socket.socketpair()
        child = os.fork()
        if child == 0:
            cli.close()
            for _ in range(exchanges):
                conn.recv(64)
                conn.sendall(b"r" * 64)
            os._exit(0)
        conn.close()
        t0 = time.perf_counter_ns()
        for _ in range(exchanges):
            cli.sendall(b"q" * 64)
            cli.recv(64)
        took = time.perf_counter_ns() - t0
        cli.close()
        os.waitpid(child, 0)
        return took / exchanges
    return tcp_ping_pong(port, exchanges)


CPU = []  # CPU ns per exchange of the last TCP ping-pong (client + server, user + system)


def tcp_ping_pong(port, exchanges):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    child = os.fork()
    if child == 0:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(exchanges):
            conn.recv(64)
            conn.sendall(b"r" * 64)
        conn.close()
        os._exit(0)
    srv.close()
    cli = socket.create_connection(("127.0.0.1", port))
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = b"q" * 64
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter_ns()
    for _ in range(exchanges):
        cli.sendall(msg)
        cli.recv(64)
    took = time.perf_counter_ns() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cli.close()
    _, _, rc = os.wait4(child, 0)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime) + rc.ru_utime + rc.ru_stime
    CPU[:] = [cpu * 1e9 / exchanges]
    return took / exchanges


def prog_stats(fd):
    """(run_time_ns, run_cnt) of a loaded program, from /proc/self/fdinfo (needs kernel.bpf_stats_enabled)."""
    info = {}
    with open("/proc/self/fdinfo/%d" % fd) as f:
        for line in f:
            k, _, v = line.partition(":")
            info[k.strip()] = v.strip()
    return int(info.get("run_time_ns", 0)), int(info.get("run_cnt", 0))


class Arm:
    def __init__(self, label, src, cfg):
        from bcc import BPF

        self.label = label
        self.b = BPF(src_file=src, cflags=build_cflags(cfg))
        fill_filters(self.b, cfg)
        self.raw = bool(self.b.raw_tracepoint_fds)  # BCC attached the program's probes when it loaded it
        self.fns = {}
        for tp in IO_PROBES:
            name = ("raw_tracepoint__" + tp) if self.raw else ("tracepoint__sock__" + tp)
            self.fns[tp] = self.b.load_func(name.encode(), BPF.RAW_TRACEPOINT if self.raw else BPF.TRACEPOINT)
        self.detach()

    def attach(self):
        for tp, fn in self.fns.items():
            if self.raw:
                self.b.attach_raw_tracepoint(tp=tp.encode(), fn_name=fn.name)
            else:
                self.b.attach_tracepoint(tp=("sock:" + tp).encode(), fn_name=fn.name)

    def detach(self):
        for tp in IO_PROBES:
            if self.raw and tp.encode() in self.b.raw_tracepoint_fds:
                self.b.detach_raw_tracepoint(tp.encode())
            elif not self.raw and ("sock:" + tp).encode() in self.b.tracepoint_fds:
                self.b.detach_tracepoint(("sock:" + tp).encode())

    def stats(self):
        t = c = 0
        for fn in self.fns.values():
            dt, dc = prog_stats(fn.fd)
            t, c = t + dt, c + dc
        return t, c


def main():
    srcs = [a for a in sys.argv[1:] if a.endswith(".c")]
    rounds, exchanges, port = arg("--rounds", 6), arg("--exchanges", 20000), arg("--port", 47311)
    cfg = {"pids": [], "comms": [], "ports": [port], "netns": [], "exclude_pids": [], "salt": "1", "drain_seconds": 1}
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        stats_before = f.read().strip()
    load_before = os.getloadavg()
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    os.dup2(devnull, 2)  # BCC's header warnings
    try:
        arms = [Arm(os.path.basename(s), s, cfg) for s in srcs]
    finally:
        os.dup2(saved, 2)
    results = {a.label: {"bpf_ns_per_run": [], "runs": [], "exchange_ns": [], "cpu_ns": [], "unix_bpf_ns_per_run": [], "unix_exchange_ns": []} for a in arms}
    results["off"] = {"exchange_ns": [], "cpu_ns": [], "unix_exchange_ns": []}
    order = ["off"] + arms
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        ping_pong(port, 2000)  # warm-up
        for r in range(rounds):
            for arm in order[r % len(order):] + order[: r % len(order)]:
                if arm == "off":
                    results["off"]["exchange_ns"].append(ping_pong(port, exchanges))
                    results["off"]["cpu_ns"].append(CPU[0])
                    results["off"]["unix_exchange_ns"].append(ping_pong(port, exchanges, unix=True))
                    continue
                arm.attach()
                t0, c0 = arm.stats()
                ns = ping_pong(port, exchanges)
                t1, c1 = arm.stats()
                uns = ping_pong(port, exchanges, unix=True)
                t2, c2 = arm.stats()
                arm.detach()
                res = results[arm.label]
                res["exchange_ns"].append(ns)
                res["cpu_ns"].append(CPU[0])
                res["bpf_ns_per_run"].append((t1 - t0) / max(1, c1 - c0))
                res["runs"].append(c1 - c0)
                res["unix_exchange_ns"].append(uns)
                res["unix_bpf_ns_per_run"].append((t2 - t1) / max(1, c2 - c1))
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(stats_before)
    out = {"rounds": rounds, "exchanges": exchanges, "load_before": load_before, "load_after": os.getloadavg(), "arms": {}}
    for label, res in results.items():
        out["arms"][label] = {k: {"median": statistics.median(v), "all": [round(x, 1) for x in v]} for k, v in res.items()}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
