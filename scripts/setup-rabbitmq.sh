#!/usr/bin/env bash
# Installs what the RPC live test (workloads/rpcapp/rpcapp.live.test.ts) needs on Debian 12: rabbitmq-server (with
# erlang-base's epmd) and oslo.messaging + eventlet for Debian's python3. The test starts its own throwaway broker on
# free loopback ports in a temporary directory (testing/rabbitmqServer.ts), so the packaged service must not start
# (scripts/apt-install-quiet.sh). Idempotent and fast when done.
set -euo pipefail
need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
/usr/bin/python3 -c 'import oslo_messaging, kombu' 2>/dev/null || need+=(python3-oslo.messaging)
/usr/bin/python3 -c 'import eventlet, greenlet' 2>/dev/null || need+=(python3-eventlet python3-greenlet)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
source "$(dirname "$0")/apt-install-quiet.sh"
apt_install_quiet setup-rabbitmq "${need[@]}"
