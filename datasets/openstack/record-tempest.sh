#!/bin/bash
# datasets/openstack/record-tempest.sh -- record one nitrace dataset from a Tempest run on the lab:
#   1. clear the OSProfiler store (redis), 2. run Tempest (`[profiler] key` set by lab-up) under
#   `nitrace capture` (socket I/O of every process on the node), 3. export every test's OSProfiler trace
#   into DATASET/truth/raw/<base_id>.json and flatten it to DATASET/truth/{spans,edges,tests}.parquet,
#   (after 2: `nitrace capture-scan` with the lab's passwords and keys; any credential found fails the recording)
#   4. write the dataset card DATASET/CARD.md + card.json (what ran, versions, config, results, capture losses).
# Usage: record-tempest.sh --out DATASET [--regex REGEX] [--concurrency N] [--snaplen N] [--license SPDX] [--no-capture] [--force]
#                          [--steps 'tempest_results export_truth card']   (rerun some steps of an existing dataset)
#   REGEX default '^tempest\.api\.(identity|image)'; --license (the card's licence field) default CC-BY-4.0. Needs root, the lab up (lab-up.sh), and `npx tsc -p .` done.
#   --no-capture records the ground truth only (no eBPF; for machines without capture support).
#   --print-capture-args prints the `nitrace capture` options this script uses (one per line) and exits; bench/openstack
#   runs the capture exactly so, so that the overhead measured is the overhead of a recording.
#   Capture is limited to the lab's service ports (CAPTURE_PORTS): other programs on the machine stay out, and so
#   does redis (6379), which carries OSProfiler's notifications, i.e. the ground truth itself.
#   AMQP (5672) keeps whole messages (--snaplen-port 5672=$AMQP_SNAPLEN: oslo.messaging puts its ids after the
#   arguments), and the greenlet probes give nova's eventlet services green-thread ids (capture schema 2).
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$LAB_DIR/../.." && pwd)
OUT="" REGEX='^tempest\.api\.(identity|image)' CONCURRENCY=2 SNAPLEN=2048 CAPTURE=1 FORCE=0 DATASET_LICENSE=CC-BY-4.0
CAPTURE_PORTS=${CAPTURE_PORTS:-"5000 9292 8774 8778 9696 3306 5672 11211"}   # keystone glance nova placement neutron mysql amqp memcached
RING_MB=${RING_MB:-64}
AMQP_SNAPLEN=${AMQP_SNAPLEN:-65536}
STEPS="clear_truth_store run_tempest scan_secrets tempest_results export_truth card"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --regex) REGEX=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --snaplen) SNAPLEN=$2; shift 2 ;;
    --license) DATASET_LICENSE=$2; shift 2 ;;
    --no-capture) CAPTURE=0; shift ;;
    --force) FORCE=1; shift ;;
    --steps) STEPS=$2; FORCE=1; shift 2 ;;
    --print-capture-args) PRINT_CAPTURE_ARGS=1; shift ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
capture_args() {  # the capture options of a recording (without --out / --force / -- CMD), one per line
  local p
  printf '%s\n' --snaplen "$SNAPLEN" --snaplen-port "5672=$AMQP_SNAPLEN" --greenlet --ring-mb "$RING_MB"
  for p in $CAPTURE_PORTS; do printf '%s\n' --port "$p"; done
}
if [ "${PRINT_CAPTURE_ARGS:-0}" = 1 ]; then capture_args; exit 0; fi
[ -n "$OUT" ] || die "--out DATASET is required"
require_root
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
if [ -e "$OUT/truth" ] && [ $FORCE = 0 ]; then die "$OUT already holds a dataset (use --force to replace it)"; fi
case " $STEPS " in *" run_tempest "*) rm -rf "$OUT/truth" "$OUT/capture" "$OUT/tempest" ;; esac
mkdir -p "$OUT/truth/raw" "$OUT/tempest"
WS=$LAB/tempest
REDIS_URL=redis://$HOST:6379
is_running keystone && is_running redis || die "the lab is not up (run datasets/openstack/lab-up.sh)"
grep -q '^key = ' "$WS/etc/tempest.conf" || die "$WS/etc/tempest.conf has no [profiler] key (rerun lab-up.sh tempest)"

step_clear_truth_store() {  # only OSProfiler data lives in the lab's redis
  redis-cli -h $HOST -p 6379 FLUSHALL >/dev/null
  : >"$WS/tempest.log"   # tempest run logs into its working directory (kept out of the dataset)
}
step_run_tempest() {  # Tempest under capture; rc of tempest is kept (failing tests still make a dataset)
  local cmd=(bash -c "cd '$WS' && exec tempest run --regex '$REGEX' --concurrency $CONCURRENCY")
  local t0 rc=0
  t0=$(date +%s.%N)
  TEMPEST_STARTED=$(date -u +%FT%T.%NZ)
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  if [ $CAPTURE = 1 ]; then
    log "tempest '$REGEX' under nitrace capture (snaplen $SNAPLEN, 5672: $AMQP_SNAPLEN, greenlet probes) -> $OUT/capture"
    local args
    mapfile -t args < <(capture_args)
    node "$REPO/bin/nitrace.js" capture --out "$OUT/capture" "${args[@]}" --force -- "${cmd[@]}" \
      >"$OUT/tempest/stdout.txt" 2>"$OUT/tempest/capture-stderr.txt" || rc=$?
  else
    log "tempest '$REGEX' (no capture)"
    "${cmd[@]}" >"$OUT/tempest/stdout.txt" 2>&1 || rc=$?
  fi
  TEMPEST_FINISHED=$(date -u +%FT%T.%NZ)
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
  TEMPEST_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  TEMPEST_RC=$rc
  printf 'TEMPEST_STARTED=%s\nTEMPEST_FINISHED=%s\nTEMPEST_SECONDS=%s\nTEMPEST_RC=%s\nLOAD_BEFORE="%s"\nLOAD_AFTER="%s"\nCAPTURE_PORTS="%s"\n' \
    "$TEMPEST_STARTED" "$TEMPEST_FINISHED" "$TEMPEST_SECONDS" "$TEMPEST_RC" "$LOAD_BEFORE" "$LOAD_AFTER" "$CAPTURE_PORTS" >"$OUT/tempest/run.env"
  log "tempest finished rc=$rc in ${TEMPEST_SECONDS}s"
}
step_scan_secrets() {  # no credential may reach the dataset: fail the recording on any hit of nitrace capture-scan
  [ $CAPTURE = 1 ] || return 0
  # The lab's known secrets: the one password of every user/service/DB/bus, the OSProfiler HMAC key, and
  # keystone's Fernet and credential keys. Tempest's own tokens and generated passwords are not obtainable (its
  # logs keep only their SHA-256): the scan catches tokens by shape (Fernet, JWT) and passwords by key.
  local secrets rc=0
  secrets=$(mktemp)
  chmod 600 "$secrets"
  local f
  { printf '# record-tempest.sh: lab secrets\n%s\n%s\n' "$PASS" "$PROFILER_KEY"
    for f in "$DATA"/keystone/fernet-keys/* "$DATA"/keystone/credential-keys/*; do [ -f "$f" ] && { cat "$f"; echo; }; done; } >"$secrets"
  node "$REPO/bin/nitrace.js" capture-scan "$OUT/capture" --secret-file "$secrets" >"$OUT/tempest/capture-scan.txt" 2>&1 || rc=$?
  rm -f "$secrets"
  cat "$OUT/tempest/capture-scan.txt"
  [ $rc = 0 ] || die "nitrace capture-scan found credentials in $OUT/capture (exit $rc, see $OUT/tempest/capture-scan.txt); the dataset must not be shared"
}
step_tempest_results() {  # per-test status (subunit CSV) and base_id -> test map from the per-test logs
  (cd "$WS" && stestr last --subunit) >"$OUT/tempest/results.subunit" 2>/dev/null || true
  subunit2csv <"$OUT/tempest/results.subunit" >"$OUT/tempest/results.csv" 2>/dev/null || true
  /usr/bin/python3 "$LAB_DIR/files/tempest_tests.py" "$OUT/tempest/results.subunit" >"$OUT/truth/tests.json"
  gzip -9f "$OUT/tempest/results.subunit"   # per-test logs included: ~10x smaller compressed
  tail -n 20 "$OUT/tempest/stdout.txt" | grep -E '^ - (Passed|Skipped|Failed|Unexpected|Expected)|^Totals|^Sum of' >"$OUT/tempest/summary.txt" || true
}
step_export_truth() {  # every trace in redis -> truth/raw/<base_id>.json -> truth/*.parquet
  sleep 2   # the last stop notifications are written asynchronously
  rm -f "$OUT"/truth/raw/*.json*
  /usr/bin/python3 "$LAB_DIR/files/export_osprofiler.py" "$REDIS_URL" "$OUT/truth/raw" 2>"$OUT/truth/export.log"
  cat "$OUT/truth/export.log"
  node "$REPO/dist/datasets/truth/importTruth.js" "$OUT" >"$OUT/truth/import.json"
  log "truth: $(cat "$OUT/truth/import.json")"
}
step_card() {
  source "$OUT/tempest/run.env"
  REGEX=$REGEX CONCURRENCY=$CONCURRENCY SNAPLEN=$SNAPLEN CAPTURE=$CAPTURE TEMPEST_RC=$TEMPEST_RC \
  TEMPEST_SECONDS=$TEMPEST_SECONDS TEMPEST_STARTED=$TEMPEST_STARTED TEMPEST_FINISHED=$TEMPEST_FINISHED LAB=$LAB \
  LOAD_BEFORE=$LOAD_BEFORE LOAD_AFTER=$LOAD_AFTER CAPTURE_PORTS=$CAPTURE_PORTS DATASET_LICENSE=$DATASET_LICENSE \
    /usr/bin/python3 "$LAB_DIR/files/write_card.py" "$OUT"
}
t0=$(date +%s)
for s in $STEPS; do log "=== $s"; "step_$s"; done
log "dataset $OUT recorded in $(($(date +%s) - t0)) s ($(du -sh "$OUT" | cut -f1))"
