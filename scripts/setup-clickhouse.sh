#!/usr/bin/env bash
# Installs the ClickHouse server and client that `nitrace store` is tested against (Debian 12: 18.16). The tests
# start their own servers on loopback with temporary data dirs (testing/clickhouseServer.ts), so the packaged
# service must not start (scripts/apt-install-quiet.sh). Idempotent and fast when done. Embedded ClickHouse for
# `nitrace analyze --engine clickhouse` is the npm package chdb (an optionalDependency that `npm ci` installs), not this.
set -euo pipefail
if command -v clickhouse-server >/dev/null || [ -x /usr/sbin/clickhouse-server ]; then
  exit 0
fi
source "$(dirname "$0")/apt-install-quiet.sh"
apt_install_quiet setup-clickhouse clickhouse-server clickhouse-client
