# step glance: eventlet glance-api on 127.0.0.1:9292 (2 workers), file store under $LAB/data/glance.
step_glance() {
  create_db glance glance
  admin_env
  ensure_service_user glance
  ensure_endpoints image glance "http://$HOST:9292"
  mkdir -p "$ETC/glance" "$DATA/glance/images" "$DATA/glance/staging" "$DATA/glance/tasks" "$DATA/glance/locks"
  sed "s|/etc/glance/healthcheck_disable|$ETC/glance/healthcheck_disable|" /etc/glance/glance-api-paste.ini \
    >"$ETC/glance/glance-api-paste.ini"
  cat >"$ETC/glance/glance-api.conf" <<EOT
[DEFAULT]
debug = False
log_file = $LOGS/glance-app.log
bind_host = $HOST
bind_port = 9292
workers = 2
enabled_backends = fs:file
image_cache_dir = $DATA/glance/cache
[database]
connection = mysql+pymysql://glance:$PASS@$HOST/glance
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $DATA/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $DATA/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $DATA/glance/tasks
$(keystone_authtoken_section glance)
[paste_deploy]
flavor = keystone
config_file = $ETC/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $DATA/glance/locks
$(profiler_section)
EOT
  glance-manage --config-file "$ETC/glance/glance-api.conf" db_sync >>"$LOGS/glance-manage.log" 2>&1
  glance-manage --config-file "$ETC/glance/glance-api.conf" db_load_metadefs >>"$LOGS/glance-manage.log" 2>&1 || true
  start_daemon glance /usr/bin/glance-api --config-file "$ETC/glance/glance-api.conf"
  wait_http "http://$HOST:9292/healthcheck" 120 glance
  openstack image list >/dev/null
  log "glance OK"
}
