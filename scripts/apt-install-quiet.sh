# Sourced by the setup scripts: apt_install_quiet NAME PACKAGE... installs Debian packages whose services must not
# start (the tests start their own servers on loopback with temporary data dirs): on a machine without a
# policy-rc.d, one is put in place for the install and removed. Needs root; says so and exits 3 otherwise.
apt_install_quiet() {
  local name=$1
  shift
  if [ "$(id -u)" != 0 ]; then
    echo "$name: $* missing; run as root to install them with apt-get" >&2
    exit 3
  fi
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  echo "$name: installing $*" >&2
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "$@" >/dev/null
}
