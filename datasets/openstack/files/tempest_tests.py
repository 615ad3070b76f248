#!/usr/bin/python3
"""Map OSProfiler base_ids to Tempest tests, from a Tempest debug log and the run's subunit CSV.

Usage: tempest_tests.py TEMPEST_LOG RESULTS_CSV > tests.json
Tempest enables the profiler per test method with a fresh UUID (tempest/test.py setUp) and its rest client logs
every request as `Request (Class:test_method): ...` followed, at DEBUG, by the request headers, which include
`X-Trace-Info` (url-safe base64 of {"base_id", "parent_id"}). RESULTS_CSV is `subunit2csv` output (test, status,
start_time, stop_time). Output: {base_id: {"test_id", "status", "requests"}}.
"""
import base64
import csv
import json
import re
import sys

REQ = re.compile(r"Request \(([^)]*)\): (\d+) (\w+) (\S+)")
INFO = re.compile(r"'X-Trace-Info': b?'([A-Za-z0-9_=-]+)'")


def main():
    log_file, csv_file = sys.argv[1], sys.argv[2]
    results = {}
    with open(csv_file, newline="") as f:
        for row in csv.DictReader(f):
            test = re.sub(r"\[.*\]$", "", row["test"])  # drop "[id-...,smoke]" tags
            cls_method = ":".join(test.rsplit(".", 2)[-2:])
            results[cls_method] = (test, row["status"])
    out = {}
    caller = None
    with open(log_file, errors="replace") as f:
        for line in f:
            m = REQ.search(line)
            if m:
                caller = m.group(1)
                continue
            m = INFO.search(line)
            if m and caller:
                info = json.loads(base64.urlsafe_b64decode(m.group(1) + "=="))
                test, status = results.get(caller, (caller, None))
                e = out.setdefault(info["base_id"], {"test_id": test, "status": status, "requests": 0})
                e["requests"] += 1
                caller = None
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
