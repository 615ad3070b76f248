# nitrace: `make demo` runs the main job, `make test` runs the tests. Both install what they need.
SHELL := /bin/bash
NODE_DEPS := node_modules/.package-lock.json

.PHONY: all setup kernel-deps clickhouse-deps rabbitmq-deps report-deps build test demo bench bench-openstack bench-engines clean
all: build

# apt packages for BCC and the kernel-header symlinks (scripts/setup-kernel.sh; why the links are needed: docs/capture.md); idempotent and fast when done.
kernel-deps:
	bash scripts/setup-kernel.sh

# clickhouse-server for the store tests (scripts/setup-clickhouse.sh; the tests start and stop their own servers).
clickhouse-deps:
	bash scripts/setup-clickhouse.sh

# rabbitmq-server, python3-oslo.messaging, python3-eventlet for the RPC live test (scripts/setup-rabbitmq.sh; the
# test starts and stops its own broker on free ports, the packaged service is not started).
rabbitmq-deps:
	bash scripts/setup-rabbitmq.sh

# A node_modules that is a link (worktrees sharing one install) is left alone: npm ci through the link emptied the
# shared install for every checkout using it (a fresh worktree's package.json is newer than the install's lock).
$(NODE_DEPS): package.json package-lock.json
	@if [ -L node_modules ]; then \
	  echo "make: node_modules links to $$(readlink -f node_modules), a shared install: not reinstalling through the link (run npm ci there if package-lock.json changed)" >&2; \
	else npm ci --no-audit --no-fund; fi

# apt packages for figures and notebooks: a font for chart text, jupyter-nbconvert + python3-ipykernel (scripts/setup-reports.sh).
report-deps:
	bash scripts/setup-reports.sh

build: $(NODE_DEPS) dist/capture/nitrace_consumer
	npx tsc -p tsconfig.json

# The capture's ring-buffer consumer (capture/agent.py also builds it on first use if missing or stale). Without a
# C compiler (analysis-only machines) it is skipped with a note; `make kernel-deps` installs gcc for capture.
dist/capture/nitrace_consumer: capture/nitrace_consumer.c capture/event.h
	@mkdir -p dist/capture
	@if command -v cc >/dev/null; then echo 'cc -O2 -pthread -o $@ capture/nitrace_consumer.c'; cc -O2 -pthread -o "$@" capture/nitrace_consumer.c; \
	else echo "build: no C compiler (cc): skipped dist/capture/nitrace_consumer (capture needs it: make kernel-deps installs gcc)" >&2; fi

setup: kernel-deps clickhouse-deps rabbitmq-deps report-deps build

test: setup
	node scripts/run-tests.mjs

# No root needed for the shipped sample; as root the demo also captures the built-in app live.
demo: build
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory kernel-deps; bash scripts/setup-reports.sh --fonts-only; fi
	node bin/nitrace.js demo --out demo-out

# Capture overhead, side by side in one run (root; ~9 min, `BENCH_FLAGS=--quick` ~3 min): bench/captureBench.ts.
# Result: bench/results/capture-<time>.json. Run it when the machine is otherwise idle for numbers that go in README.
# Arms: off / full capture / `capture --mode sketch` in every block (`BENCH_FLAGS=--no-sketch`: without sketch mode);
# `BENCH_FLAGS='--baseline DIR'` adds another built checkout's capture as an arm (old vs new data path).
# `node dist/bench/datapath/compareDataPaths.js --baseline DIR`: both captures at once on the same traffic, rows equal?
BENCH_FLAGS ?=
# The evaluation notebooks (notebooks/*.ipynb, TypeScript on the tslab kernel) on the shipped samples; they rewrite
# README's generated blocks and docs/figures/. Executed copies in dist/notebooks/.
notebooks: report-deps build
	bash scripts/run-notebooks.sh --fresh

bench: setup
	node dist/bench/captureBench.js $(BENCH_FLAGS)

# Capture overhead on the OpenStack lab (root, `make lab-up` done; ~60 min, `BENCH_FLAGS=--quick` ~8 min):
# bench/openstack/openstackBench.ts. Holds the lab lock while it measures. Result: bench/results/openstack-<time>.json.
bench-openstack: setup
	LAB=$(LAB) flock -w 3600 /var/lock/nitrace-lab.lock node dist/bench/openstack/openstackBench.js $(BENCH_FLAGS)

# Analysis at scale (issue 8): generated captures of 1 M, 3 M, 10 M events, analyze timed per size and step
# (bench/analyze/README.md). Data in NITRACE_BENCH_DIR or /var/tmp/nitrace-bench; result bench/results/analyze-*.json.
BENCH_ANALYZE_ARGS ?=
.PHONY: bench-analyze
bench-analyze: build
	node dist/bench/analyze/benchAnalyze.js $(BENCH_ANALYZE_ARGS)

# DuckDB vs embedded ClickHouse (chdb) on one capture, side by side in alternating pairs, and nitrace store into a
# ClickHouse server and a 2-shard cluster (bench/engineBench.ts; ~15 min, `BENCH_FLAGS=--quick` ~3 min).
# Result: bench/results/engines-<time>.json. Numbers for README only from a run on an otherwise idle machine.
bench-engines: setup
	node dist/bench/engineBench.js $(BENCH_FLAGS)

include datasets/openstack/Makefile.inc

clean:
	rm -rf dist demo-out
