#!/usr/bin/python3
"""Export every OSProfiler trace stored in redis as `osprofiler trace show --json` would print it.

Usage: export_osprofiler.py CONNECTION_STRING OUT_DIR [BASE_ID ...]
  With no BASE_ID, every trace in the store is exported (redis keys osprofiler_opt:<base_id>).
Writes OUT_DIR/<base_id>.json.gz (gzip: the JSON is ~10x larger than needed), one process for all traces (one `osprofiler trace show` per trace would pay
the Python start-up ~230 times). Prints one line per trace and a total on stderr.
"""
import gzip
import json
import os
import sys

from osprofiler.drivers import base


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    conn, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    driver = base.get_driver(conn, conf={})  # conf: the CLI passes oslo.config; a dict is enough here
    ids = sys.argv[3:] or sorted({t["base_id"] for t in driver.list_traces(fields=["base_id"])})
    n = 0
    for base_id in ids:
        # get_report accumulates into the driver: one driver per trace
        report = base.get_driver(conn, conf={}).get_report(base_id)
        if not report.get("children"):
            print("empty trace %s" % base_id, file=sys.stderr)
            continue
        with gzip.open(os.path.join(out, base_id + ".json.gz"), "wt") as f:
            # same serialisation as osprofiler's CLI (`trace show --json`)
            json.dump(report, f, default=str, separators=(",", ":"))
        n += 1
    print("exported %d traces to %s" % (n, out), file=sys.stderr)


if __name__ == "__main__":
    main()
