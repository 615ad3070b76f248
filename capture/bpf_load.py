"""bpf_load.py - compile and load a BPF source with BCC without attaching its programs yet.

BCC attaches every `raw_tracepoint__*` program the moment it loads the file, before the agent has filled the filter
maps and started the consumer. A socket or thread that did I/O in that window got the verdict of empty filters
(nitrace.bpf.c caches it for the socket's or thread's whole life): with --port, every connection then busy was
ignored for the whole capture. Seen on a Tempest recording at load ~12: nova-conductor's and nova-compute's
RabbitMQ consumer connections (poll loops, a read every few ms) were missing from start to end, and with them 80 %
of the RPC edges. So the agents load, fill the maps, start the consumer, and only then attach (attach_all).
"""
import os

PREFIX = b"raw_tracepoint__"


def load_unattached(src_path, cflags):
    """The loaded BPF object (programs compiled, nothing attached) and its raw tracepoints as (tracepoint, program)
    pairs. BCC's header warnings on stderr are hidden; errors come back as exceptions."""
    from bcc import BPF, lib

    class Unattached(BPF):
        def _trace_autoload(self):  # BCC's hook that attaches by name prefix as the file loads: later, by attach_all
            pass

    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    os.dup2(devnull, 2)
    try:
        b = Unattached(src_file=src_path, cflags=cflags)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    names = [lib.bpf_function_name(b.module, i) for i in range(lib.bpf_num_functions(b.module))]
    return b, [(n[len(PREFIX):], n) for n in names if n.startswith(PREFIX)]


def attach_all(b, probes):
    for tp, fn in probes:
        b.attach_raw_tracepoint(tp=tp, fn_name=fn)
