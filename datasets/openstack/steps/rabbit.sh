# step rabbit: epmd + RabbitMQ (AMQP 127.0.0.1:5672, Erlang distribution on loopback), user openstack.
RABBITMQCTL="setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmqctl -n rabbit@localhost"
step_rabbit() {
  mkdir -p "$DATA/rabbitmq" "$LOGS/rabbitmq"; chown -R rabbitmq:rabbitmq "$DATA/rabbitmq" "$LOGS/rabbitmq"
  cat >"$ETC/rabbitmq.conf" <<EOT
listeners.tcp.default = $HOST:5672
distribution.listener.interface = $HOST
loopback_users.guest = false
EOT
  echo "NODENAME=rabbit@localhost" >"$ETC/rabbitmq-env.conf"
  start_daemon epmd setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/bin/epmd -address 127.0.0.1
  wait_port 4369 30
  start_daemon rabbitmq setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
    env HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=$HOST \
    RABBITMQ_CONFIG_FILE="$ETC/rabbitmq" RABBITMQ_CONF_ENV_FILE="$ETC/rabbitmq-env.conf" \
    RABBITMQ_MNESIA_BASE="$DATA/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$LOGS/rabbitmq" \
    RABBITMQ_PID_FILE="$RUN/rabbitmq-beam.pid" RABBITMQ_ENABLED_PLUGINS_FILE="$DATA/rabbitmq/enabled_plugins" \
    /usr/lib/rabbitmq/bin/rabbitmq-server
  wait_port 5672 180
  # no `grep -q` here: under pipefail an early grep exit SIGPIPEs rabbitmqctl and the test "fails"
  $RABBITMQCTL list_users 2>/dev/null | grep '^openstack' >/dev/null || $RABBITMQCTL add_user openstack "$PASS"
  $RABBITMQCTL set_permissions -p / openstack '.*' '.*' '.*' >/dev/null
}
# lab-down hook: the rabbitmq-server wrapper script exits on SIGTERM but leaves beam.smp running, so stop the
# node through rabbitmqctl first (it waits for beam to exit), then reap the wrapper.
stop_rabbitmq() {
  if is_running rabbitmq; then
    log "stopping rabbitmq node (rabbitmqctl stop)"
    timeout 60 $RABBITMQCTL stop >/dev/null 2>&1 || log "rabbitmqctl stop failed; falling back to SIGTERM"
  fi
  stop_daemon rabbitmq
}
