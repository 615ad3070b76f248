#!/bin/bash
# datasets/openstack/lab-up.sh -- bring the nitrace OpenStack lab up (idempotent, no systemd).
# Usage: [LAB=/var/lib/nitrace-lab] lab-up.sh [step ...]
#   steps (default all, in this order): packages infra keystone glance placement nova tempest
#   (rabbitmq is started by the nova step). Rerun with everything up: configs are rewritten,
#   running daemons are left alone; to apply a config change: lab-down.sh NAME, then lab-up.sh STEP.
source "$(dirname "$0")/lib.sh"
require_root
lab_dirs
for f in "$LAB_DIR"/steps/*.sh; do source "$f"; done
STEPS=${*:-"packages infra keystone glance placement nova tempest"}
t0=$(date +%s)
for s in $STEPS; do
  declare -F "step_$s" >/dev/null || die "unknown step '$s'"
  ts=$(date +%s); log "=== step $s"
  "step_$s"
  log "=== step $s done in $(($(date +%s) - ts)) s"
done
log "lab up ($STEPS) in $(($(date +%s) - t0)) s; LAB=$LAB; source $LAB/admin-openrc to use it"
