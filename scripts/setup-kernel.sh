#!/usr/bin/env bash
# Installs what BCC needs on Debian 12 and links the Debian kernel headers where BCC looks for them.
# The running kernel may have no headers package; BCC compiles against the nearest Debian headers, and nitrace
# reads struct offsets from the running kernel's BTF, so exact headers are not needed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  echo "setup-kernel: run as root (BCC needs root to load probes; apt-get needs it to install)" >&2
  exit 3
fi
need=()
/usr/bin/python3 -c 'import bcc' 2>/dev/null || need+=(bpfcc-tools python3-bpfcc)
ls -d /usr/src/linux-headers-*-amd64 >/dev/null 2>&1 || need+=(linux-headers-amd64)
command -v bpftool >/dev/null || need+=(bpftool)
command -v ip >/dev/null || need+=(iproute2)         # network namespaces in tests
command -v setpriv >/dev/null || need+=(util-linux)  # the non-root test
command -v cc >/dev/null || need+=(gcc)              # event layout test, bench load generator
command -v wrk >/dev/null || need+=(wrk)             # bench
/usr/bin/python3 -c 'import eventlet, greenlet' 2>/dev/null || need+=(python3-eventlet python3-greenlet)  # green-thread test
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-kernel: installing ${need[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
mods="/lib/modules/$(uname -r)"
if [ ! -e "$mods/build/include" ]; then
  hdr=$(ls -d /usr/src/linux-headers-*-amd64 | sort -V | tail -n 1)
  common=$(ls -d /usr/src/linux-headers-*-common | sort -V | tail -n 1)
  mkdir -p "$mods"
  ln -sfn "$hdr" "$mods/build"
  ln -sfn "$common" "$mods/source"
  echo "setup-kernel: linked $hdr as $mods/build" >&2
fi
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
