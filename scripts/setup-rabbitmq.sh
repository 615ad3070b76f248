#!/usr/bin/env bash
# Installs what the RPC live test (workloads/rpcapp/rpcapp.live.test.ts) needs on Debian 12: rabbitmq-server (with
# erlang-base's epmd) and oslo.messaging + eventlet for Debian's python3. The test starts its own throwaway broker on
# free loopback ports in a temporary directory (testing/rabbitmqServer.ts), so the packaged service must not start:
# on a machine without a policy-rc.d, one is put in place for the install and removed. Idempotent and fast when done.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
/usr/bin/python3 -c 'import oslo_messaging, kombu' 2>/dev/null || need+=(python3-oslo.messaging)
/usr/bin/python3 -c 'import eventlet, greenlet' 2>/dev/null || need+=(python3-eventlet python3-greenlet)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-rabbitmq: ${need[*]} missing; run as root to install them with apt-get" >&2
  exit 3
fi
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
echo "setup-rabbitmq: installing ${need[*]}" >&2
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${need[@]}" >/dev/null
