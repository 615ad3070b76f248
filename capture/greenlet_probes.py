"""greenlet_probes.py - attach nitrace's greenlet uprobes to the traced processes that use greenlet.

Green threads (eventlet, gevent) share one OS thread; nitrace tells them apart with two uprobes in greenlet's C++
extension (`greenlet/_greenlet*.so`), programs `greenlet_switched` and `greenlet_created` in nitrace.bpf.c:
  greenlet::Greenlet::g_switchstack_success()   once per switch, for the greenlet now running
  greenlet::UserGreenlet::UserGreenlet(...)     once per new greenlet (green_spawn events)
Each uprobe is attached per process (perf event bound to the pid): the kernel then plants the breakpoint only in
that process's memory, so untraced processes using the same library (say glance-api while capturing nova) pay
nothing. A uprobe hit costs ~6.5 us of CPU on the lab VM (trap + single-step; measured with an empty program),
so this matters: every greenlet switch of a traced process pays it.
Traced processes are found in /proc (--pid, their children the kernel added to pid_filter, --comm, or all):
  - at start, every running traced process that maps a greenlet library;
  - then every RESCAN_SECONDS, processes not seen before, once they are MIN_AGE_SECONDS old; a traced process that
    has not mapped greenlet yet is looked at again at every scan while younger than YOUNG_SECONDS, then every
    RECHECK_SECONDS (importing eventlet took 12 s on this VM under load; some programs import it late). A process
    that maps greenlet after the capture began is covered from then on; its earlier events have no gid and its
    earlier greenlets no green_spawn.
Only greenlet 2.x is attached: the register holding `this` and the layout of the Python greenlet object were
checked on 2.0.2 (docs/capture.md); other versions are reported as skipped, and their events have no gid.
"""
import os
import re
import time

SWITCH_SYMBOL = b"_ZN8greenlet8Greenlet21g_switchstack_successEv"
# greenlet::UserGreenlet::UserGreenlet(_greenlet*, BorrowedGreenlet): complete-object constructor (C1).
CREATE_SYMBOL_RE = b"^_ZN8greenlet12UserGreenletC1EP9_greenlet"
LIBRARY_RE = re.compile(r"\s(/\S*/greenlet/_greenlet[^/]*\.so)$")
VERSION_RE = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.M)
RESCAN_SECONDS = 2.0
MIN_AGE_SECONDS = 1.0
YOUNG_SECONDS = 60.0
RECHECK_SECONDS = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def greenlet_version(lib_path):
    """__version__ from the greenlet package the library belongs to, or None."""
    try:
        with open(os.path.join(os.path.dirname(lib_path), "__init__.py")) as f:
            m = VERSION_RE.search(f.read())
            return m.group(1) if m else None
    except OSError:
        return None


def process_age_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / CLOCK_TICKS


def mapped_libraries(pid):
    """Paths of greenlet libraries mapped by a process, as this agent can open them."""
    found = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            m = LIBRARY_RE.search(line.rstrip("\n"))
            if m:
                path = m.group(1)
                # A process in another mount namespace names files from its own root.
                found.add(path if os.path.exists(path) else "/proc/%d/root%s" % (pid, path))
    return found


class GreenletProbes:
    def __init__(self, bpf, cfg, on_change):
        self.b = bpf
        self.pids = set(cfg["pids"])
        self.comms = set(c[:15] for c in cfg["comms"])
        self.all_tasks = not (cfg["pids"] or cfg["comms"])
        self.exclude = set(cfg["exclude_pids"]) | {os.getpid()}
        self.on_change = on_change
        self.scanned = set()  # pids settled: attached, not traced, or gone
        self.recheck = {}  # traced pid without greenlet (yet) -> (monotonic time of the next look,)
        self.libraries = {}  # (st_dev, st_ino) -> {"path", "version", "pids": [...]} or {"path", "reason"}
        self.last_scan = 0.0

    def traced(self, pid):
        if pid in self.exclude:
            return False
        if self.all_tasks or pid in self.pids:
            return True
        try:
            with open("/proc/%d/comm" % pid) as f:
                return f.read().rstrip("\n")[:15] in self.comms
        except OSError:
            return False

    def refresh_pid_filter(self):
        """Children of --pid processes join the kernel's pid_filter map on fork: follow them."""
        if not self.pids:
            return
        for key in self.b["pid_filter"].keys():
            self.pids.add(key.value)

    def scan(self, force=False):
        now = time.monotonic()
        if not force and now - self.last_scan < RESCAN_SECONDS:
            return
        self.last_scan = now
        self.refresh_pid_filter()
        changed = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            if pid in self.scanned or self.recheck.get(pid, (0.0,))[0] > now:
                continue
            try:
                age = process_age_seconds(pid)
                if age < MIN_AGE_SECONDS:
                    continue  # look again next time: it may not have imported greenlet yet
                if not self.traced(pid):
                    self.scanned.add(pid)
                    continue
                paths = sorted(mapped_libraries(pid))
                if not paths:  # not yet, maybe later: every scan while the process is young, then rarely
                    self.recheck[pid] = (now + (RESCAN_SECONDS if age < YOUNG_SECONDS else RECHECK_SECONDS),)
                    continue
                self.scanned.add(pid)
                self.recheck.pop(pid, None)
                for path in paths:
                    changed |= self.attach(pid, path)
            except (OSError, IndexError, ValueError):
                self.scanned.add(pid)  # gone, or a kernel thread
                self.recheck.pop(pid, None)
        if changed:
            self.on_change(self.report())

    def library(self, path):
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        if key not in self.libraries:
            version = greenlet_version(path)
            if version and version.startswith("2."):
                self.libraries[key] = {"path": path, "version": version, "pids": []}
            else:
                self.libraries[key] = {"path": path, "reason": "greenlet %s: probes checked on 2.x only" % version}
        return self.libraries[key]

    def attach(self, pid, path):
        """Attach both probes to one process; True if the report changed."""
        known = len(self.libraries)
        lib = self.library(path)
        if "reason" in lib:
            return len(self.libraries) != known  # an unsupported library is reported once
        try:
            self.b.attach_uprobe(name=path.encode(), sym=SWITCH_SYMBOL, fn_name=b"greenlet_switched", pid=pid)
            self.b.attach_uprobe(name=path.encode(), sym_re=CREATE_SYMBOL_RE, fn_name=b"greenlet_created", pid=pid)
        except Exception as e:  # symbol not found (a build we do not know), or the process is gone
            if not os.path.exists("/proc/%d" % pid):
                return False
            lib.pop("pids", None)
            lib.pop("version", None)
            lib["reason"] = str(e).strip()[-300:]
            return True
        lib["pids"].append(pid)
        return True

    def report(self):
        attached = [{"path": l["path"], "version": l["version"], "pids": sorted(l["pids"])}
                    for l in self.libraries.values() if "reason" not in l and l["pids"]]
        skipped = [{"path": l["path"], "reason": l["reason"]} for l in self.libraries.values() if "reason" in l]
        return {"attached": attached, "skipped": skipped}
