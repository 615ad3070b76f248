#!/usr/bin/env bash
# Installs the ClickHouse server and client that `nitrace store` is tested against (Debian 12: 18.16). The tests
# start their own servers on loopback with temporary data dirs (testing/clickhouseServer.ts), so the packaged
# service must not start: on a machine without a policy-rc.d, one is put in place for the install and removed.
# Idempotent and fast when done. Embedded ClickHouse for `nitrace analyze --engine clickhouse` is the npm
# package chdb (an optionalDependency that `npm ci` installs), not this.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if command -v clickhouse-server >/dev/null || [ -x /usr/sbin/clickhouse-server ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-clickhouse: clickhouse-server is missing; run as root to install it with apt-get" >&2
  exit 3
fi
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
echo "setup-clickhouse: installing clickhouse-server clickhouse-client" >&2
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends clickhouse-server clickhouse-client >/dev/null
