#!/usr/bin/python3
"""Write DATASET/card.json and DATASET/CARD.md: what ran, versions, config, Tempest results, truth, capture losses,
licence and how the dataset was recorded (docs/datasets.md lists the fields; `nitrace dataset pack` requires them).

Usage: write_card.py DATASET            (settings come from the environment set by record-tempest.sh)
       write_card.py --update DATASET   (add the fields a card written by an earlier version lacks, then rewrite
                                         CARD.md from card.json; nothing else in the card changes)
"""
import csv
import json
import os
import platform
import shlex
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone

PACKAGES = ["keystone", "glance-api", "placement-api", "nova-api", "nova-conductor", "nova-scheduler",
            "python3-nova", "python3-osprofiler", "python3-oslo.messaging", "tempest", "rabbitmq-server",
            "mariadb-server", "memcached", "redis-server", "uwsgi-core", "python3-sqlalchemy", "python3-pymysql"]


def dpkg_versions():
    out = {}
    for p in PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True)
        out[p] = r.stdout.strip() if r.returncode == 0 else None
    return out


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def tempest_results(ds):
    counts, failed = Counter(), []
    try:
        with open(os.path.join(ds, "tempest", "results.csv"), newline="") as f:
            for row in csv.DictReader(f):
                if row["test"].startswith("setUpClass") or row["test"].startswith("tearDownClass"):
                    counts["class_fixture_" + row["status"]] += 1
                    continue
                counts[row["status"]] += 1
                if row["status"] == "fail":
                    failed.append(row["test"])
    except OSError:
        pass
    return dict(counts), failed


DEFAULT_LICENSE = "CC-BY-4.0"
RECORDER = "datasets/openstack/record-tempest.sh"


def recorded_with(manifest, env):
    """How the dataset was recorded: the recorder, nitrace's version and the exact capture command line."""
    cfg = (manifest or {}).get("config") or {}
    cmd = None
    if manifest is not None:
        ports = " ".join("--port %d" % p for p in cfg.get("ports") or [])
        redact = "" if cfg.get("redact", True) else " --no-redact"
        inner = shlex.join(cfg.get("command") or [])
        ring = cfg.get("ring_buffer_bytes")
        ring = " --ring-mb %d" % (ring // (1 << 20)) if ring else ""
        # capture schema 2: per-port snaplens and the greenlet probes (manifest `greenlet`: attached or not)
        per_port = "".join(" --snaplen-port %s=%s" % (p, n) for p, n in sorted((cfg.get("snaplen_ports") or {}).items()))
        greenlet = (manifest or {}).get("greenlet")
        green = "" if greenlet is None else (" --greenlet" if greenlet.get("attached") else " --no-greenlet")
        cmd = "nitrace capture --out capture --snaplen %s%s%s%s %s%s -- %s" % (cfg.get("snaplen"), per_port, green, ring, ports, redact, inner)
    return {
        "script": RECORDER,
        "nitrace_version": (manifest or {}).get("nitrace_version"),
        "capture_command": cmd,
        "capture_schema_version": (manifest or {}).get("schema_version"),
        "redact": cfg.get("redact") if manifest is not None else None,
        "truth": "OSProfiler traces (redis driver) exported by files/export_osprofiler.py, flattened by "
                 "dist/datasets/truth/importTruth.js",
    }


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    ds = sys.argv[1]
    env = os.environ
    counts, failed = tempest_results(ds)
    manifest = load_json(os.path.join(ds, "capture", "manifest.json"))
    truth = load_json(os.path.join(ds, "truth", "import.json"), {})
    tests = load_json(os.path.join(ds, "truth", "tests.json"), {})
    card = {
        "format": "nitrace-dataset",
        "version": 1,
        "name": os.path.basename(os.path.abspath(ds)),
        "license": env.get("DATASET_LICENSE") or DEFAULT_LICENSE,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"node": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count()},
        "workload": {
            "tool": "tempest run",
            "regex": env.get("REGEX"),
            "concurrency": int(env.get("CONCURRENCY", "0")),
            "started": env.get("TEMPEST_STARTED"),
            "finished": env.get("TEMPEST_FINISHED"),
            "seconds": float(env.get("TEMPEST_SECONDS", "0")),
            "exit_code": int(env.get("TEMPEST_RC", "0")),
            "loadavg_before": env.get("LOAD_BEFORE"),
            "loadavg_after": env.get("LOAD_AFTER"),
            "results": counts,
            "failed_tests": failed,
        },
        "versions": dpkg_versions(),
        "config": {
            "lab": "datasets/openstack (lab-up.sh): keystone, glance, placement, nova-api (uWSGI / eventlet), "
                   "nova-conductor, nova-scheduler, nova-compute (fake.FakeDriver), fake neutron stub, RabbitMQ, "
                   "MariaDB, memcached, redis; everything on 127.0.0.1 of one node",
            "osprofiler": {"driver": "redis", "trace_sqlalchemy": True, "hmac_keys": "SECRET_KEY",
                           "tempest_profiler_key": "SECRET_KEY"},
            "capture": {"enabled": env.get("CAPTURE") == "1", "snaplen": int(env.get("SNAPLEN", "0")),
                        "ports": [int(p) for p in env.get("CAPTURE_PORTS", "").split()],
                        "config": (manifest or {}).get("config")},
        },
        "truth": {**truth, "tests_mapped": len(tests)},
        "capture": None if manifest is None else {
            "status": manifest.get("status"),
            "schema_version": manifest.get("schema_version"),
            "greenlet": manifest.get("greenlet"),
            "events": manifest.get("events"),
            "losses": manifest.get("losses"),
            "counters": manifest.get("counters"),
            "segments": len(manifest.get("segments") or []),
            "clock_drift_ns": (manifest.get("clock") or {}).get("drift_ns"),
        },
        "bytes": {"total": du(ds), "truth": du(os.path.join(ds, "truth")), "capture": du(os.path.join(ds, "capture"))},
        "recorded_with": recorded_with(manifest, env),
    }
    write_json(os.path.join(ds, "card.json"), card)
    write_markdown(ds, card, len(tests))


def write_json(path, card):
    with open(path + ".tmp", "w") as f:
        json.dump(card, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


def update(ds):
    """Adds licence and recorded_with to a card written before they existed; the rest stays as recorded."""
    path = os.path.join(ds, "card.json")
    card = load_json(path)
    if card is None:
        sys.exit("write_card: %s missing or not JSON" % path)
    manifest = load_json(os.path.join(ds, "capture", "manifest.json"))
    new = {}
    for k, v in card.items():
        new[k] = v
        if k == "name" and "license" not in card:
            new["license"] = os.environ.get("DATASET_LICENSE") or DEFAULT_LICENSE
    new.setdefault("license", os.environ.get("DATASET_LICENSE") or DEFAULT_LICENSE)
    new.setdefault("recorded_with", recorded_with(manifest, os.environ))
    write_json(path, new)
    write_markdown(ds, new, (new.get("truth") or {}).get("tests_mapped", 0))


def write_markdown(ds, card, tests_mapped):
    truth = {k: v for k, v in (card.get("truth") or {}).items() if k != "tests_mapped"}
    failed = card["workload"].get("failed_tests") or []
    w = card["workload"]
    lines = [
        "# Dataset %s" % card["name"], "",
        "Recorded by `datasets/openstack/record-tempest.sh` on %s (%s, kernel %s, %s CPUs)." % (
            card["created"], card["machine"]["node"], card["machine"]["kernel"], card["machine"]["cpus"]), "",
        "## What ran", "",
        "`tempest run --regex '%s' --concurrency %d` on the nitrace OpenStack lab (OpenStack Zed, Debian 12 packages; "
        "see datasets/openstack/). Tempest sends OSProfiler headers (`[profiler] key`), one trace (base_id) per test "
        "method; every service stores its trace points in redis." % (w["regex"], w["concurrency"]), "",
        "- wall time: %.1f s, tempest exit code %d; load average %s before, %s after (2 CPUs, shared machine)" % (
            w["seconds"], w["exit_code"], w["loadavg_before"], w["loadavg_after"]),
        "- results: %s" % ", ".join("%s %d" % kv for kv in sorted(w["results"].items())),
        "- licence: %s" % card.get("license"),
    ]
    if failed:
        lines.append("- failed: " + ", ".join("`%s`" % t for t in failed))
    lines += ["", "## Ground truth (truth/)", "",
              "- `raw/<base_id>.json`: `osprofiler trace show --json` of each trace",
              "- `spans.parquet` (one row per trace point), `edges.parquet` (parent -> child), `tests.parquet` (base_id -> test)",
              "- %s traces, %s points %s, %s edges; %s traces mapped to a test" % (
                  truth.get("traces"), truth.get("points"), json.dumps(truth.get("by_name")), truth.get("edges"),
                  tests_mapped)]
    if truth.get("errors"):
        lines.append("- import errors: %s" % truth["errors"])
    lines += ["", "## Capture (capture/)", ""]
    c = card["capture"]
    if c is None:
        lines.append("No capture in this dataset (recorded with `--no-capture`, or capture failed: see tempest/capture-stderr.txt).")
    else:
        lines += ["- status %s, snaplen %s, %s segments; ports %s (the lab's services; redis 6379, which carries "
                  "OSProfiler's notifications, is left out)" % (c["status"], card["config"]["capture"]["snaplen"],
                                                               c["segments"], card["config"]["capture"]["ports"]),
                  "- events: %s" % json.dumps(c["events"]),
                  "- losses: %s" % json.dumps(c["losses"]),
                  "- counters: %s" % json.dumps(c["counters"])]
    rw = card.get("recorded_with") or {}
    lines += ["", "## How it was recorded", "",
              "- recorder: `%s`, nitrace %s, capture schema version %s, payload redaction %s" % (
                  rw.get("script"), rw.get("nitrace_version"), rw.get("capture_schema_version"),
                  {True: "on", False: "OFF (--no-redact)"}.get(rw.get("redact"), "unknown")),
              "- capture: `%s`" % rw.get("capture_command"),
              "- ground truth: %s" % rw.get("truth")]
    lines += ["", "## Versions", ""] + ["- %s %s" % kv for kv in card["versions"].items()]
    lines += ["", "## Size", "", "%.2f MB in total (truth %.2f MB, capture %.2f MB)." % (
        card["bytes"]["total"] / 1e6, card["bytes"]["truth"] / 1e6, card["bytes"]["capture"] / 1e6), ""]
    with open(os.path.join(ds, "CARD.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--update":
        update(sys.argv[2])
    else:
        main()
