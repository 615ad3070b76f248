#!/usr/bin/python3
"""agent.py - the thin kernel agent of `nitrace capture`: loads nitrace.bpf.c with BCC and forwards raw events.

USAGE: started by `nitrace capture` (capture/kernelAgent.ts), not by hand:
    /usr/bin/python3 capture/agent.py '<json config>'      # forward events
    /usr/bin/python3 capture/agent.py '<json config>' --ebpf   # print the final BPF program and exit

What it does, and why it is this thin: a Python callback per event costs about 1 us, the first bottleneck of
BCC tools. This agent never looks at an event. It maps the BPF ring buffer into its own memory, finds the end
of the committed records (8-byte record headers only) and writes whole runs of raw records to stdout in one
write(2); `nitrace capture` (Node) decodes, redacts and writes Parquet. Control messages (ready, stats, error,
stopped) are JSON lines on fd 3. Counters are also written to <stats_path> every second, so that a capture
killed with -9 can still be accounted for by `nitrace capture-recover`.

Exit codes: 0 stopped cleanly (SIGTERM/SIGINT or parent gone), 3 BPF could not be loaded, 1 other failure.
Needs: root, /usr/bin/python3 with python3-bpfcc (BCC), kernel headers linked as in scripts/setup-kernel.sh.
"""
import ctypes
import json
import mmap
import os
import select
import signal
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PR_SET_PDEATHSIG = 1
RINGBUF_BUSY = 1 << 31
RINGBUF_DISCARD = 1 << 30
RINGBUF_HDR = 8
# The kernel side never wakes us (a wakeup per event would cost the traced threads more than the event itself),
# so poll: 20 ms bounds the delay; the ring buffer holds seconds of events at full rate.
POLL_SECONDS = 0.02
COUNTER_NAMES = ["kernel_emitted", "ringbuf_drops", "payload_faults", "active_map_full", "filtered_in_kernel", "green_switches"]


def control(msg):
    """One JSON line to the parent on fd 3."""
    try:
        os.write(3, (json.dumps(msg) + "\n").encode())
    except OSError:
        pass


def clock_sample(when):
    """(realtime, monotonic) pair: the narrowest of several realtime brackets around a monotonic read."""
    best = None
    for _ in range(50):
        r1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        r2 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        if best is None or r2 - r1 < best[2]:
            best = ((r1 + r2) // 2, m, r2 - r1)
    return {"when": when, "realtime_ns": str(best[0]), "monotonic_ns": str(best[1]), "uncertainty_ns": best[2]}


def build_cflags(cfg):
    sys.path.insert(0, HERE)
    from btf_offsets import kernel_offsets

    flags = ["-I" + HERE, "-Wno-unused-function"]
    defines = {
        "SNAPLEN": cfg["snaplen"],
        "SNAPLEN_PORTS": int(bool(cfg.get("snaplen_ports"))),
        "NCPUS": os.cpu_count() or 1,
        "RINGBUF_PAGES": cfg["ring_pages"],
        "CONN_SALT": "%dULL" % int(cfg["salt"]),
        "FILTER_TASKS": int(bool(cfg["pids"] or cfg["comms"])),
        "FILTER_PORT": int(bool(cfg["ports"])),
        "FILTER_NETNS": int(bool(cfg["netns"])),
    }
    defines.update(kernel_offsets())
    flags += ["-D%s=%s" % (k, v) for k, v in defines.items()]
    return flags


def fill_filters(b, cfg):
    one = ctypes.c_uint8(1)
    for pid in cfg["exclude_pids"]:
        b["excluded_pids"][ctypes.c_uint32(pid)] = one
    for pid in cfg["pids"]:
        b["pid_filter"][ctypes.c_uint32(pid)] = one
    for comm in cfg["comms"]:
        key = b["comm_filter"].Key()
        key.comm = comm.encode()[:15]
        b["comm_filter"][key] = one
    for port in cfg["ports"]:
        b["port_filter"][ctypes.c_uint16(port)] = one
    for ns in cfg["netns"]:
        b["netns_filter"][ctypes.c_uint32(ns)] = one
    for port, n in (cfg.get("snaplen_ports") or {}).items():
        b["snaplen_ports"][ctypes.c_uint16(int(port))] = ctypes.c_uint32(int(n))


class RingReader:
    """Consumer side of a BPF ring buffer, mapped directly (layout: kernel/bpf/ringbuf.c)."""

    def __init__(self, map_fd, data_size):
        page = mmap.PAGESIZE
        self.size = data_size
        self.mask = data_size - 1
        self.base = page
        self.consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        # Producer page, then the data area mapped twice in a row, so any run of records reads contiguously.
        self.producer = mmap.mmap(map_fd, page + 2 * data_size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self.records = 0
        self.bytes = 0

    def drain(self, out_fd):
        """Write every committed record to out_fd; return the number of records."""
        unpack_u64, unpack_u32 = struct.Struct("<Q").unpack_from, struct.Struct("<I").unpack_from
        prod_map, base, mask = self.producer, self.base, self.mask
        total = 0
        while True:
            cons = unpack_u64(self.consumer, 0)[0]
            prod = unpack_u64(prod_map, 0)[0]
            if cons >= prod:
                return total
            start, n = cons, 0
            limit = min(prod, start + self.size)
            while cons < limit:
                hdr = unpack_u32(prod_map, base + (cons & mask))[0]
                if hdr & RINGBUF_BUSY:
                    break
                cons += ((hdr & ~(RINGBUF_BUSY | RINGBUF_DISCARD)) + RINGBUF_HDR + 7) & ~7
                n += 1
            if cons == start:
                return total  # the oldest record is still being written
            # Counted before the write: if the pipe breaks in the middle of this run (nitrace capture was killed),
            # each of its records is either in what Node read or lost with Node, never missing from both counts.
            self.records += n
            self.bytes += cons - start
            total += n
            off = base + (start & mask)
            view = memoryview(prod_map)[off: off + (cons - start)]
            while len(view):
                written = os.write(out_fd, view)
                view = view[written:]
            view.release()
            struct.pack_into("<Q", self.consumer, 0, cons)


def read_counters(b):
    sums = [0] * len(COUNTER_NAMES)
    table = b["counters"]
    for i in range(len(COUNTER_NAMES)):
        sums[i] = sum(table[ctypes.c_int(i)])
    return dict(zip(COUNTER_NAMES, sums))


def write_stats(path, stats):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(stats, f)
    os.replace(tmp, path)


def main():
    cfg = json.loads(sys.argv[1])
    src_path = os.path.join(HERE, "nitrace.bpf.c")
    try:
        cflags = build_cflags(cfg)
    except Exception as e:  # BTF missing or a field renamed in a new kernel
        control({"type": "error", "stage": "btf", "message": str(e)})
        return 3
    if "--ebpf" in sys.argv:
        print("// cflags: " + " ".join(cflags))
        with open(src_path) as f:
            print(f.read())
        return 0

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(1))
    # A broken pipe (nitrace capture was killed) must surface as BrokenPipeError, so that the final counters are
    # still written for `nitrace capture-recover`; SIG_DFL would kill the agent with stale counters on disk.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    try:
        from bcc import BPF

        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(2)
        os.dup2(devnull, 2)  # BCC prints harmless header warnings to stderr; errors come back as exceptions
        try:
            b = BPF(src_file=src_path, cflags=cflags)
        finally:
            os.dup2(saved, 2)
        fill_filters(b, cfg)
        ring = RingReader(b["events"].map_fd, cfg["ring_pages"] * mmap.PAGESIZE)
    except Exception as e:
        control({"type": "error", "stage": "load", "message": str(e).strip()[-2000:]})
        return 3
    greenlet = None
    if cfg.get("greenlet", True):
        from greenlet_probes import GreenletProbes

        greenlet = GreenletProbes(b, cfg, lambda report: control({"type": "greenlet", **report}))
        greenlet.scan(force=True)

    clock = [clock_sample("start")]
    control({"type": "ready", "pid": os.getpid(), "clock": clock[0],
             "probes": b.num_open_tracepoints() + b.num_open_uprobes()})
    ep = select.epoll()
    ep.register(b["events"].map_fd, select.EPOLLIN)
    out_fd = sys.stdout.fileno()
    last_stats = 0.0

    def stats(final=False):
        s = read_counters(b)
        s.update({"agent_records": ring.records, "agent_bytes": ring.bytes, "final": final,
                  "time_ns": str(time.time_ns())})
        write_stats(cfg["stats_path"], s)
        control({"type": "stats", **s})

    try:
        while not stopping:
            ep.poll(POLL_SECONDS)
            ring.drain(out_fd)
            if greenlet:
                greenlet.scan()
            now = time.monotonic()
            if now - last_stats >= 1.0:
                stats()
                last_stats = now
        ring.drain(out_fd)  # what the kernel produced before the stop
    except BrokenPipeError:
        stats(final=True)
        return 1
    except OSError as e:
        control({"type": "error", "stage": "forward", "message": str(e)})
        stats(final=True)
        return 1
    clock.append(clock_sample("stop"))
    stats(final=True)
    control({"type": "stopped", "clock": clock[-1]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
