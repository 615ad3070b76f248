#!/usr/bin/python3
"""agent.py - launcher of `nitrace capture`'s kernel side: loads nitrace.bpf.c with BCC, starts the consumer.

USAGE: started by `nitrace capture` (capture/kernelAgent.ts), not by hand:
    /usr/bin/python3 capture/agent.py '<json config>'          # trace
    /usr/bin/python3 capture/agent.py '<json config>' --ebpf   # print the final BPF program and exit

Python never touches an event (a Python callback per event costs ~1 us, the first bottleneck of BCC tools).
This script compiles the probes, fills the filter maps, starts capture/nitrace_consumer.c and then attaches the probes
(compiled on first use into dist/capture/) with the ring buffer's map fd: the consumer drains the ring and writes
self-contained events to stdout, which it inherits from this process, so they go straight to `nitrace capture`
(Node). Here remain the slow things: greenlet probes for new processes (capture/greenlet_probes.py), and every
second the kernel's and the consumer's counters, as JSON lines on fd 3 (with ready, greenlet, error, stopped)
and in <stats_path>, so that a capture killed with -9 can still be accounted for by `nitrace capture-recover`.

Exit codes: 0 stopped cleanly (SIGTERM/SIGINT or parent gone), 3 BPF could not be loaded, 1 other failure.
Needs: root, /usr/bin/python3 with python3-bpfcc (BCC), kernel headers linked as in scripts/setup-kernel.sh, cc.
"""
import ctypes
import json
import mmap
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
CONSUMER_SOURCES = [os.path.join(HERE, "nitrace_consumer.c"), os.path.join(HERE, "event.h")]
CONSUMER_BINARY = os.path.join(PACKAGE_ROOT, "dist", "capture", "nitrace_consumer")
PR_SET_PDEATHSIG = 1
# The shared BPF ring buffer carries only what is not socket I/O (connect, close, green_spawn, ...): 4 MiB.
SHARED_RING_PAGES = 1024
LOOP_SECONDS = 0.1
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


def possible_cpus():
    """CPU ids the kernel may run on (bpf_get_smp_processor_id() is below this), from "0-7" or "0,2-3"."""
    with open("/sys/devices/system/cpu/possible") as f:
        return max(int(part.split("-")[-1]) for part in f.read().strip().split(",")) + 1


def ring_sizes(cfg):
    """(per-CPU socket ring bytes, shared ring buffer pages): --ring-mb split over the CPUs, powers of two."""
    total = cfg["ring_pages"] * mmap.PAGESIZE
    per_cpu = 1 << max(16, (total // possible_cpus()).bit_length() - 1)
    return per_cpu, SHARED_RING_PAGES


def realtime_kernel():
    """PREEMPT_RT kernels say so in /sys/kernel/realtime; elsewhere tracepoint programs run with preemption off."""
    try:
        with open("/sys/kernel/realtime") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def build_cflags(cfg):
    sys.path.insert(0, HERE)
    from btf_offsets import kernel_offsets

    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    fast_bytes, shared_pages = ring_sizes(cfg)
    flags = ["-I" + HERE, "-Wno-unused-function"]
    defines = {
        "SNAPLEN": cfg["snaplen"],
        "SNAPLEN_PORTS": int(bool(cfg.get("snaplen_ports"))),
        "NCPUS": possible_cpus(),
        "PID_MAX": pid_max,
        "FAST_BYTES": fast_bytes,
        "RINGBUF_PAGES": shared_pages,
        "CONN_SALT": "%dULL" % int(cfg["salt"]),
        "FILTER_TASKS": int(bool(cfg["pids"] or cfg["comms"])),
        "FILTER_PORT": int(bool(cfg["ports"])),
        "FILTER_NETNS": int(bool(cfg["netns"])),
    }
    if os.environ.get("NITRACE_PROFILE_STOP"):  # bench/bpfParts.ts: cost of the data path's parts (nitrace.bpf.c)
        defines["PROFILE_STOP"] = int(os.environ["NITRACE_PROFILE_STOP"])
    if os.environ.get("NITRACE_PROFILE_TOUCH"):  # bench/bpfOutside.ts: "k:stride", loads per event (nitrace.bpf.c)
        k, stride = os.environ["NITRACE_PROFILE_TOUCH"].split(":")
        defines["PROFILE_TOUCH"], defines["PROFILE_TOUCH_STRIDE"] = int(k), int(stride)
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


BPF_PROG_TEST_RUN = 10
PREFAULT_PAGES = 4096  # as in nitrace.bpf.c


def prefault_rings(b, libc):
    """Have the kernel touch every page of the per-CPU rings (and gather areas) once, now: the first kernel write
    to a page of a new map costs ~17 us on the lab VM, paid otherwise by traced threads (nitrace.bpf.c, prefault).
    Runs the never-attached `prefault` program with BPF_PROG_TEST_RUN; returns the pages touched."""
    from bcc import BPF

    fd = b.load_func(b"prefault", BPF.RAW_TRACEPOINT).fd
    areas = [(0, ctypes.sizeof(b["fast"].Leaf)), (1, ctypes.sizeof(b["gather"].Leaf))]
    args = (ctypes.c_uint64 * 4)()
    attr = (ctypes.c_uint8 * 80)()
    touched = 0
    for cpu in range(possible_cpus()):
        for area, size in areas:
            for first in range(0, (size + 4095) // 4096, PREFAULT_PAGES):
                args[:] = [cpu, first, 0, area]
                ctypes.memset(attr, 0, 80)
                ctypes.c_uint32.from_buffer(attr, 0).value = fd  # test.prog_fd
                ctypes.c_uint32.from_buffer(attr, 40).value = ctypes.sizeof(args)  # test.ctx_size_in
                ctypes.c_uint64.from_buffer(attr, 48).value = ctypes.addressof(args)  # test.ctx_in
                if libc.syscall(321, BPF_PROG_TEST_RUN, attr, 80) != 0:  # SYS_bpf (x86_64)
                    raise OSError(ctypes.get_errno(), "BPF_PROG_TEST_RUN of prefault: " + os.strerror(ctypes.get_errno()))
                done = ctypes.c_int32.from_buffer(attr, 4).value  # test.retval
                if done < 0:
                    raise RuntimeError("prefault: no map element for CPU %d" % cpu)
                touched += done
    return touched


def consumer_binary():
    """dist/capture/nitrace_consumer, compiled now if missing or older than its sources (`make build` does it too)."""
    newest = max(os.path.getmtime(p) for p in CONSUMER_SOURCES)
    if os.path.exists(CONSUMER_BINARY) and os.path.getmtime(CONSUMER_BINARY) >= newest:
        return CONSUMER_BINARY
    os.makedirs(os.path.dirname(CONSUMER_BINARY), exist_ok=True)
    tmp = "%s.%d.tmp" % (CONSUMER_BINARY, os.getpid())
    try:
        r = subprocess.run(["cc", "-O2", "-pthread", "-o", tmp, CONSUMER_SOURCES[0]], capture_output=True, text=True)
    except FileNotFoundError:
        raise RuntimeError("no C compiler (cc) to build %s: install gcc (`make kernel-deps` does)" % CONSUMER_BINARY)
    if r.returncode != 0:
        raise RuntimeError("cannot compile %s: %s" % (CONSUMER_SOURCES[0], r.stderr.strip()[-1000:]))
    os.replace(tmp, CONSUMER_BINARY)
    return CONSUMER_BINARY


class Consumer:
    """capture/nitrace_consumer.c as a child: ring in, events on our stdout, stats as JSON lines on a pipe."""

    def __init__(self, b, cfg):
        fast_bytes, shared_pages = ring_sizes(cfg)
        ring_fd, fast_fd = b["events"].map_fd, b["fast"].map_fd
        stride = (ctypes.sizeof(b["fast"].Leaf) + 7) & ~7  # array elements are 8-byte aligned
        stats_r, stats_w = os.pipe()
        self.proc = subprocess.Popen(
            [consumer_binary(), "--ring-fd", str(ring_fd), "--ring-bytes", str(shared_pages * mmap.PAGESIZE),
             "--fast-fd", str(fast_fd), "--fast-cpus", str(possible_cpus()), "--fast-bytes", str(fast_bytes),
             "--fast-stride", str(stride), "--stats-fd", str(stats_w)],
            stdin=subprocess.DEVNULL, stdout=None, stderr=None, pass_fds=(ring_fd, fast_fd, stats_w))
        os.close(stats_w)
        os.set_blocking(stats_r, False)
        self.stats_fd = stats_r
        self.pending = b""
        self.stats = {}

    def poll_stats(self):
        """Read whatever stats lines arrived; keep the latest."""
        while True:
            try:
                chunk = os.read(self.stats_fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                return
            self.pending += chunk
            *lines, self.pending = self.pending.split(b"\n")
            for line in lines:
                if line.strip():
                    self.stats = json.loads(line)

    def stop(self):
        """Drain what the kernel wrote, write every event, exit; returns the consumer's exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait()
        os.set_blocking(self.stats_fd, True)
        self.poll_stats()
        return code


class FastRingEmitted:
    """Events the sock_* programs wrote into the per-CPU rings: each ring counts its own in its header (`emitted`,
    offset 8 of struct fast_ring in nitrace.bpf.c), read here through a read-only mapping of the `fast` array."""

    def __init__(self, b):
        stride = (ctypes.sizeof(b["fast"].Leaf) + 7) & ~7  # array elements are 8-byte aligned
        cpus = possible_cpus()
        size = (cpus * stride + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
        self.area = mmap.mmap(b["fast"].map_fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        self.offsets = [cpu * stride + 8 for cpu in range(cpus)]

    def total(self):
        return sum(int.from_bytes(self.area[off:off + 8], "little") for off in self.offsets)


def read_counters(b, fast_emitted):
    sums = [0] * len(COUNTER_NAMES)
    table = b["counters"]
    for i in range(len(COUNTER_NAMES)):
        sums[i] = sum(table[ctypes.c_int(i)])
    sums[0] += fast_emitted.total()  # kernel_emitted: the shared ring's events (counters map) + the per-CPU rings'
    return dict(zip(COUNTER_NAMES, sums))


def detach_probes(b):
    """Stop every probe (maps stay): what the kernel emitted before this is all the consumer has to drain."""
    for ev in list(b.uprobe_fds):
        b.detach_uprobe_event(ev)
    for tp in list(b.tracepoint_fds):
        b.detach_tracepoint(tp)
    for tp in list(b.raw_tracepoint_fds):
        b.detach_raw_tracepoint(tp)


SOCKET_PROBES = [(b"sock_send_length", b"raw_tracepoint__sock_send_length"),
                 (b"sock_recv_length", b"raw_tracepoint__sock_recv_length")]


def pause_socket_probes(b, paused):
    """For benchmarks (bench/captureBench.ts): SIGUSR1 detaches the data path's two socket-layer probes, SIGUSR2
    attaches the same programs again; everything else (maps, rings, consumer, other probes) stays. The cost per
    socket syscall can then be measured probes-off / probes-on every fraction of a second within one capture: the
    lab VM's own speed drifts by 20-50 % over seconds, more than the probes cost."""
    for tp, fn in SOCKET_PROBES:
        attached = tp in b.raw_tracepoint_fds
        if paused and attached:
            b.detach_raw_tracepoint(tp)
        elif not paused and not attached:
            b.attach_raw_tracepoint(tp=tp, fn_name=fn)


def write_stats(path, stats):
    """Best effort: on a full disk the last whole file stays; the same counters still reach Node on fd 3."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def main():
    cfg = json.loads(sys.argv[1])
    src_path = os.path.join(HERE, "nitrace.bpf.c")
    try:
        cflags = build_cflags(cfg)
    except Exception as e:  # BTF missing or a field renamed in a new kernel
        control({"type": "error", "stage": "btf", "message": str(e)})
        return 3
    if realtime_kernel():
        control({"type": "error", "stage": "load", "message": "PREEMPT_RT kernel: its tracepoints run preemptible, "
                 "and the per-CPU rings of nitrace's data path need one writer at a time (docs/capture.md, Limits)"})
        return 3
    if "--ebpf" in sys.argv:
        print("// cflags: " + " ".join(cflags))
        with open(src_path) as f:
            print(f.read())
        return 0

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(1))
    # Node gone (kill -9): control() then fails with EPIPE and is ignored, so the final counters still reach
    # agent-stats.json for `nitrace capture-recover` (SIG_DFL would kill this process at the first write to fd 3).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    try:
        from bpf_load import attach_all, load_unattached

        b, probes = load_unattached(src_path, cflags)
        prefault_rings(b, libc)
        fill_filters(b, cfg)
        consumer = Consumer(b, cfg)
        fast_emitted = FastRingEmitted(b)
        b["excluded_pids"][ctypes.c_uint32(consumer.proc.pid)] = ctypes.c_uint8(1)
        attach_all(b, probes)  # only now: filters filled, consumer draining (capture/bpf_load.py)
    except Exception as e:
        control({"type": "error", "stage": "load", "message": str(e).strip()[-2000:]})
        return 3
    signal.signal(signal.SIGUSR1, lambda *_: pause_socket_probes(b, True))
    signal.signal(signal.SIGUSR2, lambda *_: pause_socket_probes(b, False))
    greenlet = None
    if cfg.get("greenlet", True):
        from greenlet_probes import GreenletProbes

        greenlet = GreenletProbes(b, cfg, lambda report: control({"type": "greenlet", **report}))
        greenlet.scan(force=True)

    clock = [clock_sample("start")]
    probes = len(b.tracepoint_fds) + len(b.raw_tracepoint_fds) + b.num_open_uprobes()
    control({"type": "ready", "pid": os.getpid(), "clock": clock[0], "probes": probes})
    last_stats = 0.0

    def stats(final=False):
        s = read_counters(b, fast_emitted)
        c = consumer.stats
        s.update({"agent_records": c.get("events_written", 0), "agent_bytes": c.get("bytes_out", 0),
                  "consumer": c, "final": final, "time_ns": str(time.time_ns())})
        write_stats(cfg["stats_path"], s)
        control({"type": "stats", **s})

    while not stopping and consumer.proc.poll() is None:
        time.sleep(LOOP_SECONDS)
        consumer.poll_stats()
        if greenlet:
            greenlet.scan()
        now = time.monotonic()
        if now - last_stats >= 1.0:
            stats()
            last_stats = now
    failed = consumer.proc.poll() is not None  # the consumer died on its own: stdout broke or a crash
    detach_probes(b)
    code = consumer.stop()  # drains what the kernel produced before the probes stopped
    if failed or code != 0:
        stats(final=True)  # first: the counters matter most when Node is gone
        control({"type": "error", "stage": "forward", "message": "the consumer exited with code %s" % code})
        return 1
    clock.append(clock_sample("stop"))
    stats(final=True)
    control({"type": "stopped", "clock": clock[-1]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
