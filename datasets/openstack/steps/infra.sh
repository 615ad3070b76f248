# step infra: MariaDB (datadir under $LAB, 127.0.0.1:3306), memcached (token caches), redis (OSProfiler store).
step_infra() {
  # mysqld runs as mysql: its socket and pid go in a mysql-owned run/mysql/, its error log to stderr (daemon log)
  mkdir -p "$DATA/mysql" "$RUN/mysql"; chown mysql:mysql "$DATA/mysql" "$RUN/mysql"
  cat >"$ETC/my.cnf" <<EOT
[mysqld]
datadir = $DATA/mysql
socket = $RUN/mysql/mysqld.sock
pid-file = $RUN/mysql/mysqld.pid
bind-address = $HOST
port = 3306
skip-name-resolve
max_connections = 500
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
innodb_buffer_pool_size = 256M
innodb_flush_log_at_trx_commit = 2
[client]
socket = $RUN/mysql/mysqld.sock
EOT
  if [ ! -d "$DATA/mysql/mysql" ]; then
    log "initialising MariaDB datadir"
    mariadb-install-db --defaults-file="$ETC/my.cnf" --user=mysql --skip-test-db \
      --auth-root-authentication-method=socket >"$LOGS/mariadb-install.log" 2>&1
  fi
  start_daemon mariadb /usr/sbin/mariadbd --defaults-file="$ETC/my.cnf" --user=mysql
  wait_port 3306 60
  start_daemon memcached /usr/bin/memcached -u memcache -l "$HOST" -p 11211 -m 64 -c 1024
  mkdir -p "$DATA/redis"; chown redis:redis "$DATA/redis"
  start_daemon redis setpriv --reuid=redis --regid=redis --init-groups \
    /usr/bin/redis-server --bind "$HOST" --port 6379 --dir "$DATA/redis" --daemonize no --save '' --appendonly no
  wait_port 11211 30; wait_port 6379 30
}
