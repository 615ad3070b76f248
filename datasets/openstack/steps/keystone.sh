# step keystone: DB, fernet keys, bootstrap (admin/labpass), uWSGI on 127.0.0.1:5000, base projects and roles.
step_keystone() {
  create_db keystone keystone
  mkdir -p "$ETC/keystone" "$DATA/keystone/fernet-keys" "$DATA/keystone/credential-keys"
  cat >"$ETC/keystone/keystone.conf" <<EOT
[DEFAULT]
debug = False
log_file = $LOGS/keystone-app.log
[database]
connection = mysql+pymysql://keystone:$PASS@$HOST/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $DATA/keystone/fernet-keys
[fernet_receipts]
key_repository = $DATA/keystone/fernet-keys
[credential]
key_repository = $DATA/keystone/credential-keys
[cache]
enabled = True
backend = oslo_cache.memcache_pool
memcache_servers = $HOST:11211
$(profiler_section)
EOT
  export OS_KEYSTONE_CONFIG_DIR=$ETC/keystone OS_KEYSTONE_CONFIG_FILES=keystone.conf
  local KM="keystone-manage --config-file $ETC/keystone/keystone.conf"
  $KM db_sync >>"$LOGS/keystone-manage.log" 2>&1
  [ -f "$DATA/keystone/fernet-keys/0" ] || $KM fernet_setup --keystone-user root --keystone-group root >>"$LOGS/keystone-manage.log" 2>&1
  [ -f "$DATA/keystone/credential-keys/0" ] || $KM credential_setup --keystone-user root --keystone-group root >>"$LOGS/keystone-manage.log" 2>&1
  chmod 700 "$DATA/keystone/fernet-keys" "$DATA/keystone/credential-keys"   # else a warning on every token
  $KM bootstrap --bootstrap-password "$PASS" \
    --bootstrap-admin-url "http://$HOST:5000/v3/" --bootstrap-internal-url "http://$HOST:5000/v3/" \
    --bootstrap-public-url "http://$HOST:5000/v3/" --bootstrap-region-id RegionOne >>"$LOGS/keystone-manage.log" 2>&1
  uwsgi_service keystone 5000 /usr/bin/keystone-wsgi-public \
    OS_KEYSTONE_CONFIG_DIR="$ETC/keystone" OS_KEYSTONE_CONFIG_FILES=keystone.conf
  wait_http "http://$HOST:5000/v3" 120 keystone
  cat >"$LAB/admin-openrc" <<EOT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export OS_AUTH_URL=http://$HOST:5000/v3 OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne
export OS_USERNAME=admin OS_PASSWORD=$PASS OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
EOT
  admin_env
  openstack token issue -f value -c expires >/dev/null
  local r
  openstack project show service >/dev/null 2>&1 || openstack project create --domain default service >/dev/null
  for r in service member reader; do
    openstack role show $r >/dev/null 2>&1 || openstack role create $r >/dev/null
  done
  log "keystone OK"
}
