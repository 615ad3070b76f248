"""greenlet_probes.py - find the greenlet libraries that traced processes use and attach nitrace's uprobes to them.

Green threads (eventlet, gevent) share one OS thread; nitrace tells them apart with two uprobes in greenlet's C++
extension (`greenlet/_greenlet*.so`), programs `greenlet_switched` and `greenlet_created` in nitrace.bpf.c:
  greenlet::Greenlet::g_switchstack_success()   once per switch, for the greenlet now running
  greenlet::UserGreenlet::UserGreenlet(...)     once per new greenlet (green_spawn events)
A uprobe belongs to a file (its inode), not to a process: once attached, every process mapping that file hits it,
including processes started later; the BPF side keeps only traced processes. So nitrace attaches only to library
files that a traced process maps, found in /proc/PID/maps:
  - at start, for every running traced process;
  - then every RESCAN_SECONDS for processes not seen before, once they are MIN_AGE_SECONDS old (Python imports
    greenlet at startup). A process started after the capture began is covered from the moment its library is
    attached (within a few seconds), or at once if another traced process already uses the same file; events
    before that have no gid, and greenlets created before that have no green_spawn.
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
        self.scanned = set()
        self.inodes = set()
        self.attached = []  # [{"path", "version"}]
        self.skipped = []  # [{"path", "reason"}]
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
        libraries = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            if pid in self.scanned:
                continue
            try:
                if process_age_seconds(pid) < MIN_AGE_SECONDS:
                    continue  # look again next time: it may not have imported greenlet yet
                self.scanned.add(pid)
                if self.traced(pid):
                    libraries |= mapped_libraries(pid)
            except (OSError, IndexError, ValueError):
                self.scanned.add(pid)  # gone, or a kernel thread
        changed = False
        for path in sorted(libraries):
            changed |= self.attach(path)
        if changed:
            self.on_change(self.report())

    def attach(self, path):
        try:
            st = os.stat(path)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) in self.inodes:
            return False
        self.inodes.add((st.st_dev, st.st_ino))
        version = greenlet_version(path)
        if not version or not version.startswith("2."):
            self.skipped.append({"path": path, "reason": "greenlet %s: probes checked on 2.x only" % version})
            return True
        try:
            self.b.attach_uprobe(name=path.encode(), sym=SWITCH_SYMBOL, fn_name=b"greenlet_switched")
            self.b.attach_uprobe(name=path.encode(), sym_re=CREATE_SYMBOL_RE, fn_name=b"greenlet_created")
        except Exception as e:  # symbol not found: a build we do not know
            self.skipped.append({"path": path, "reason": str(e).strip()[-300:]})
            return True
        self.attached.append({"path": path, "version": version})
        return True

    def report(self):
        return {"attached": list(self.attached), "skipped": list(self.skipped)}
