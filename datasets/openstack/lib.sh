# datasets/openstack/lib.sh -- shared settings and helpers for the nitrace OpenStack lab.
# Sourced by lab-up.sh, lab-down.sh, record-tempest.sh and steps/*.sh. Not executable on its own.
# Everything the lab owns lives under $LAB (default /var/lib/nitrace-lab):
#   etc/ configs   data/ databases, images, keys   logs/ one log per daemon   run/ pid files
set -euo pipefail

LAB=${LAB:-/var/lib/nitrace-lab}
ETC=$LAB/etc; DATA=$LAB/data; LOGS=$LAB/logs; RUN=$LAB/run
PASS=${LAB_PASS:-labpass}                    # every DB / service / admin password (lab only, loopback only)
PROFILER_KEY=${PROFILER_KEY:-SECRET_KEY}      # osprofiler hmac key
HOST=127.0.0.1                                # every listener is bound to loopback
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# pyenv (or anything else) must not shadow Debian's python3: OpenStack lives in /usr/lib/python3/dist-packages
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME || true
export DEBIAN_FRONTEND=noninteractive
# stop order (reverse of start order); lab-down.sh uses it
DAEMONS_STOP_ORDER="nova-compute nova-scheduler nova-conductor nova-api fake-neutron placement glance keystone rabbitmq epmd redis memcached mariadb"

log() { echo "[$(date -u +%T)] $*"; }
die() { echo "error: $*" >&2; exit 1; }
require_root() { [ "$(id -u)" = 0 ] || die "the lab needs root (apt, daemons running as mysql/rabbitmq/redis)"; }
lab_dirs() { mkdir -p "$ETC" "$DATA" "$LOGS" "$RUN"; }

is_running() {  # is_running NAME -> pid file exists and the process is alive
  local pf=$RUN/$1.pid
  [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null
}
start_daemon() {  # start_daemon NAME cmd args... (own session, log in logs/NAME.log, pid in run/NAME.pid)
  local name=$1; shift
  if is_running "$name"; then log "$name already running (pid $(cat "$RUN/$name.pid"))"; return 0; fi
  log "starting $name"
  echo "[$(date -u +%FT%TZ)] start: $*" >>"$LOGS/$name.log"
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}
stop_daemon() {  # stop_daemon NAME -> SIGTERM, wait up to 30 s, then SIGKILL; removes the pid file
  local name=$1 pf=$RUN/$1.pid pid i
  [ -f "$pf" ] || return 0
  pid=$(cat "$pf")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "$name still alive after 30 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pf"
}
wait_port() {  # wait_port PORT [TIMEOUT_S]
  local port=$1 t=${2:-120} i
  for ((i = 0; i < t; i++)); do
    if ss -ltn "sport = :$port" | grep LISTEN >/dev/null; then return 0; fi
    sleep 1
  done
  die "timeout waiting for port $port"
}
wait_http() {  # wait_http URL [TIMEOUT_S] [NAME]  (status < 500 = up; fails fast if daemon NAME died)
  local url=$1 t=${2:-120} name=${3:-} i code
  for ((i = 0; i < t; i++)); do
    if [ -n "$name" ] && ! is_running "$name"; then tail -20 "$LOGS/$name.log" >&2; die "$name died, see $LOGS/$name.log"; fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    if [ -n "$code" ] && [ "$code" != 000 ] && [ "$code" -lt 500 ]; then return 0; fi
    sleep 1
  done
  die "timeout waiting for $url"
}
sql() { mariadb --protocol=socket -S "$RUN/mysql/mysqld.sock" -uroot -e "$1"; }
create_db() {  # create_db DBNAME USER
  sql "CREATE DATABASE IF NOT EXISTS \`$1\`;
       CREATE USER IF NOT EXISTS '$2'@'%' IDENTIFIED BY '$PASS';
       CREATE USER IF NOT EXISTS '$2'@'localhost' IDENTIFIED BY '$PASS';
       GRANT ALL PRIVILEGES ON \`$1\`.* TO '$2'@'%';
       GRANT ALL PRIVILEGES ON \`$1\`.* TO '$2'@'localhost';
       FLUSH PRIVILEGES;"
}
admin_env() {
  export OS_AUTH_URL=http://$HOST:5000/v3 OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne
  export OS_USERNAME=admin OS_PASSWORD=$PASS OS_PROJECT_NAME=admin
  export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
}
ensure_service_user() {  # ensure_service_user NAME -> user NAME in project service, roles admin (+service)
  openstack user show -f value -c id "$1" >/dev/null 2>&1 ||
    openstack user create --domain default --password "$PASS" "$1" >/dev/null
  openstack role add --project service --user "$1" admin
  openstack role add --project service --user "$1" service 2>/dev/null || true
}
ensure_endpoints() {  # ensure_endpoints TYPE NAME URL
  local type=$1 name=$2 url=$3 iface
  openstack service show "$type" >/dev/null 2>&1 || openstack service create --name "$name" "$type" >/dev/null
  for iface in public internal admin; do
    if [ -z "$(openstack endpoint list --service "$type" --interface $iface -f value -c ID)" ]; then
      openstack endpoint create --region RegionOne "$type" $iface "$url" >/dev/null
    fi
  done
}
profiler_section() {  # the [profiler] section shared by every service (osprofiler 3.4.3, redis driver)
  cat <<EOT
[profiler]
enabled = True
trace_sqlalchemy = True
hmac_keys = $PROFILER_KEY
connection_string = redis://$HOST:6379
EOT
}
keystone_authtoken_section() {  # keystone_authtoken_section USER
  cat <<EOT
[keystone_authtoken]
www_authenticate_uri = http://$HOST:5000
auth_url = http://$HOST:5000
memcached_servers = $HOST:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $PASS
EOT
}
service_client_section() {  # service_client_section SECTION USER: how a service calls another with a service user
  cat <<EOT
[$1]
region_name = RegionOne
auth_type = password
auth_url = http://$HOST:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $PASS
EOT
}
uwsgi_service() {  # uwsgi_service NAME PORT WSGI_FILE [env VAR=...]  -> uWSGI master + 2 workers
  local name=$1 port=$2 wsgi=$3; shift 3
  # --die-on-term: SIGTERM stops (default is reload); Connection: close: uWSGI's http-socket closes after
  # each response, say so or clients get "connection reset" on reuse.
  start_daemon "$name" env "$@" /usr/bin/uwsgi --plugins python3 --http-socket "$HOST:$port" --wsgi-file "$wsgi" \
    --master --die-on-term --processes 2 --threads 1 --lazy-apps --enable-threads --buffer-size 65535 \
    --add-header "Connection: close"
}
