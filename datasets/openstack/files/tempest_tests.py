#!/usr/bin/python3
"""Map OSProfiler base_ids to Tempest tests, from the run's subunit stream.

Usage: tempest_tests.py RESULTS.subunit > tests.json      (`stestr last --subunit` of the run)
Tempest enables the profiler per test method with a fresh UUID (tempest/test.py setUp); its rest client logs each
request's headers at DEBUG, including `X-Trace-Info` (url-safe base64 of {"base_id", "parent_id"}), and stestr
attaches each test's log to its subunit result. (The shared tempest.log is no use with --concurrency > 1: the
workers overwrite each other's lines.) Output: {base_id: {"test_id", "status", "requests"}}.
"""
import base64
import json
import re
import sys

import subunit
import testtools

INFO = re.compile(rb"'X-Trace-Info': b'([A-Za-z0-9_=-]+)'")


def main():
    out = {}

    def on_test(test):
        test_id = re.sub(r"\[.*\]$", "", test["id"])  # drop "[id-...,smoke]" tags
        for detail in test["details"].values():
            for m in INFO.finditer(b"".join(detail.iter_bytes())):
                info = json.loads(base64.urlsafe_b64decode(m.group(1) + b"=="))
                e = out.setdefault(info["base_id"], {"test_id": test_id, "status": test["status"], "requests": 0})
                e["requests"] += 1

    with open(sys.argv[1], "rb") as f:
        stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        try:
            stream.run(result)
        finally:
            result.stopTestRun()
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print("mapped %d traces to tests" % len(out), file=sys.stderr)


if __name__ == "__main__":
    main()
