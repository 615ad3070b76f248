#!/usr/bin/python3
"""sketch_agent.py - kernel agent of `nitrace capture --mode sketch`: loads sketch.bpf.c with BCC and drains its maps.

USAGE: started by `nitrace capture --mode sketch` (capture/sketchCapture.ts), not by hand:
    /usr/bin/python3 capture/sketch_agent.py '<json config>'          # drain every drain_seconds
    /usr/bin/python3 capture/sketch_agent.py '<json config>' --ebpf   # print the final BPF program and exit

The kernel aggregates (sketch.bpf.c); this agent only reads the maps: every `drain_seconds`, and once more after
SIGTERM/SIGINT, it writes one JSON line to stdout with the cumulative state of every map (connections, processes,
count-min, counters) and the clock. Maps are never cleared, so a drain is a consistent running total and a lost
drain loses nothing; per-window numbers are differences of consecutive drains. Control messages (ready, error,
stopped) are JSON lines on fd 3, as for capture/agent.py. The final drain is first written to <final_path> (config),
so that the totals of the whole capture survive a capture whose Node process was killed (kill -9: PDEATHSIG stops
this agent, and its stdout leads nowhere); Node removes that file once the drain is in Parquet.

Exit codes: 0 stopped cleanly, 3 BPF could not be loaded, 1 other failure. Needs root and python3-bpfcc.
"""
import ctypes
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PR_SET_PDEATHSIG = 1
COUNTER_NAMES = ["conn_map_full", "proc_map_full", "socket_calls"]


def control(msg):
    try:
        os.write(3, (json.dumps(msg) + "\n").encode())
    except OSError:
        pass


def clock_sample():
    """(realtime, monotonic) pair: the narrowest of several realtime brackets around a monotonic read."""
    best = None
    for _ in range(50):
        r1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        r2 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        if best is None or r2 - r1 < best[2]:
            best = ((r1 + r2) // 2, m, r2 - r1)
    return {"realtime_ns": str(best[0]), "monotonic_ns": str(best[1]), "uncertainty_ns": best[2]}


def build_cflags(cfg):
    sys.path.insert(0, HERE)
    from btf_offsets import kernel_offsets

    defines = {
        "FILTER_TASKS": int(bool(cfg["pids"] or cfg["comms"])),
        "FILTER_PORT": int(bool(cfg["ports"])),
        "FILTER_NETNS": int(bool(cfg["netns"])),
    }
    defines.update(kernel_offsets())
    return ["-I" + HERE, "-Wno-unused-function"] + ["-D%s=%s" % (k, v) for k, v in defines.items()]


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


def stats_of(s):
    """An sk_stats as JSON: counts, and the histogram as {bucket: count} for non-empty buckets."""
    hist = {str(i): int(v) for i, v in enumerate(s.hist) if v}
    return {"send_calls": s.send_calls, "send_bytes": s.send_bytes, "recv_calls": s.recv_calls,
            "recv_bytes": s.recv_bytes, "exchanges": s.exchanges, "hist": hist}


def write_final(path, d):
    """The final drain as JSON in `path` (written whole, then renamed), before it is sent to Node."""
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(d, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def drain(b, seq, salt, final):
    conns = []
    for k, c in b["conns"].items():
        if c.ignored:
            continue
        conns.append({
            # Opaque connection id: socket address and opening time, salted (fits a signed BIGINT).
            "conn_id": str(((k.sk ^ salt) * 0x9E3779B97F4A7C15 ^ k.gen) & 0x7FFFFFFFFFFFFFFF),
            "opened_mono_ns": str(k.gen), "pid": c.pid, "role": c.role, "family": c.family,
            "laddr": bytes(c.laddr).hex(), "lport": c.lport, "raddr": bytes(c.raddr).hex(), "rport": c.rport,
            "netns": c.netns, **stats_of(c.stats)})
    procs = [{"pid": k.pid, "role": k.role, **stats_of(v)} for k, v in b["procs"].items()]
    cm = b["countmin"]
    cells = [int(cm[ctypes.c_int(i)].value) for i in range(len(cm))]
    counters = {}
    for i, name in enumerate(COUNTER_NAMES):
        counters[name] = int(sum(b["counters"][ctypes.c_int(i)]))
    return {"type": "drain", "seq": seq, "final": final, "clock": clock_sample(), "conns": conns, "procs": procs,
            "countmin": cells, "counters": counters}


def main():
    cfg = json.loads(sys.argv[1])
    src_path = os.path.join(HERE, "sketch.bpf.c")
    try:
        cflags = build_cflags(cfg)
    except Exception as e:
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
    # Node gone (kill -9): writes to stdout / fd 3 must fail with EPIPE, not kill this process before the final
    # drain is in <final_path> (SIG_DFL did: the same bug as capture/agent.py's, fixed there the same way)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        from bpf_load import attach_all, load_unattached

        b, probes = load_unattached(src_path, cflags)
        fill_filters(b, cfg)
        attach_all(b, probes)  # only now that the filters are filled (capture/bpf_load.py)
    except Exception as e:
        control({"type": "error", "stage": "load", "message": str(e).strip()[-2000:]})
        return 3
    salt = int(cfg["salt"])
    control({"type": "ready", "pid": os.getpid(), "clock": clock_sample(), "probes": len(b.raw_tracepoint_fds)})
    out = sys.stdout
    seq = 0
    next_drain = time.monotonic() + cfg["drain_seconds"]
    try:
        while not stopping:
            time.sleep(min(0.05, max(0.0, next_drain - time.monotonic())))
            if time.monotonic() >= next_drain:
                seq += 1
                out.write(json.dumps(drain(b, seq, salt, False)) + "\n")
                out.flush()
                next_drain += cfg["drain_seconds"]
        seq += 1
        final = drain(b, seq, salt, True)
        try:
            write_final(cfg.get("final_path"), final)
        except OSError as e:
            control({"type": "error", "stage": "final", "message": "cannot write %s: %s" % (cfg.get("final_path"), e)})
        out.write(json.dumps(final) + "\n")
        out.flush()
    except BrokenPipeError:
        return 1
    control({"type": "stopped", "drains": seq})
    return 0


if __name__ == "__main__":
    sys.exit(main())
