# step packages: Debian 12 packages for the lab (no PyPI). policy-rc.d keeps postinst from starting daemons.
LAB_PACKAGES="mariadb-server python3-pymysql rabbitmq-server memcached redis-server python3-redis
  keystone glance-api glance-common placement-api python3-osc-placement
  nova-api nova-conductor nova-scheduler python3-openstackclient python3-osprofiler tempest
  uwsgi-plugin-python3 curl procps iproute2 lsof jq"
step_packages() {
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  local p missing=""
  for p in $LAB_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -z "$missing" ]; then log "all packages already installed"; return 0; fi
  log "apt-get install:$missing"
  apt-get update -q -o DPkg::Lock::Timeout=900
  # Debian's OpenStack debconf questions (configure_db, register-endpoint, ...) all default to false
  apt-get install -y -q -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing
}
