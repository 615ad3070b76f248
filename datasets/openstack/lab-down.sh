#!/bin/bash
# datasets/openstack/lab-down.sh -- stop the daemons lab-up.sh started (only those with a pid file in $LAB/run),
# in reverse dependency order: SIGTERM, up to 30 s, then SIGKILL. Data under $LAB is kept.
# Usage: [LAB=/var/lib/nitrace-lab] lab-down.sh [NAME ...]      (default: every lab daemon)
#        lab-down.sh --purge     also delete $LAB (databases, images, logs); packages stay installed
source "$(dirname "$0")/lib.sh"
PURGE=0
if [ "${1:-}" = --purge ]; then PURGE=1; shift; fi
[ -d "$RUN" ] || { log "no lab at $LAB (nothing to stop)"; exit 0; }
for f in "$LAB_DIR"/steps/*.sh; do source "$f"; done   # steps may define stop_NAME hooks
for n in ${*:-$DAEMONS_STOP_ORDER}; do
  if declare -F "stop_$n" >/dev/null; then "stop_$n"; else stop_daemon "$n"; fi
done
if [ $PURGE = 1 ]; then
  case "$LAB" in /|/usr*|/etc*|/var|/root|"") die "refusing to delete LAB=$LAB" ;; esac
  log "deleting $LAB"; rm -rf "$LAB"
fi
log "lab down"
