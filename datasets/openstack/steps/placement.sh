# step placement: uWSGI placement-api on 127.0.0.1:8778 (its osprofiler hook is in placement/deploy.py).
step_placement() {
  create_db placement placement
  admin_env
  ensure_service_user placement
  ensure_endpoints placement placement "http://$HOST:8778"
  mkdir -p "$ETC/placement"
  cat >"$ETC/placement/placement.conf" <<EOT
[DEFAULT]
debug = False
[placement_database]
connection = mysql+pymysql://placement:$PASS@$HOST/placement
[api]
auth_strategy = keystone
$(keystone_authtoken_section placement)
$(profiler_section)
EOT
  placement-manage --config-file "$ETC/placement/placement.conf" db sync >>"$LOGS/placement-manage.log" 2>&1
  uwsgi_service placement 8778 /usr/bin/placement-api OS_PLACEMENT_CONFIG_DIR="$ETC/placement"
  wait_http "http://$HOST:8778/" 120 placement
  log "placement OK"
}
