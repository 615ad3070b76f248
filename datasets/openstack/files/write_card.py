#!/usr/bin/python3
"""Write DATASET/card.json and DATASET/CARD.md: what ran, versions, config, Tempest results, truth, capture losses.

Usage: write_card.py DATASET   (settings come from the environment set by record-tempest.sh)
"""
import csv
import json
import os
import platform
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
            "events": manifest.get("events"),
            "losses": manifest.get("losses"),
            "counters": manifest.get("counters"),
            "segments": len(manifest.get("segments") or []),
            "clock_drift_ns": (manifest.get("clock") or {}).get("drift_ns"),
        },
        "bytes": {"total": du(ds), "truth": du(os.path.join(ds, "truth")), "capture": du(os.path.join(ds, "capture"))},
    }
    with open(os.path.join(ds, "card.json"), "w") as f:
        json.dump(card, f, indent=2, sort_keys=False)
        f.write("\n")
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
    ]
    if failed:
        lines.append("- failed: " + ", ".join("`%s`" % t for t in failed))
    lines += ["", "## Ground truth (truth/)", "",
              "- `raw/<base_id>.json`: `osprofiler trace show --json` of each trace",
              "- `spans.parquet` (one row per trace point), `edges.parquet` (parent -> child), `tests.parquet` (base_id -> test)",
              "- %s traces, %s points %s, %s edges; %s traces mapped to a test" % (
                  truth.get("traces"), truth.get("points"), json.dumps(truth.get("by_name")), truth.get("edges"),
                  len(tests))]
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
    lines += ["", "## Versions", ""] + ["- %s %s" % kv for kv in card["versions"].items()]
    lines += ["", "## Size", "", "%.2f MB in total (truth %.2f MB, capture %.2f MB)." % (
        card["bytes"]["total"] / 1e6, card["bytes"]["truth"] / 1e6, card["bytes"]["capture"] / 1e6), ""]
    with open(os.path.join(ds, "CARD.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
