# step nova: RabbitMQ, fake Neutron stub (:9696), nova-api (uWSGI :8774), conductor, scheduler,
# nova-compute with fake.FakeDriver (no DB credentials, as in a real deployment), flavors and two tiny images.
nova_conf() {
  cat <<EOT
[DEFAULT]
debug = False
transport_url = rabbit://openstack:$PASS@$HOST:5672/
my_ip = $HOST
state_path = $DATA/nova
instances_path = $DATA/nova/instances
compute_driver = fake.FakeDriver
allow_resize_to_same_host = True
use_rootwrap_daemon = False
[api]
auth_strategy = keystone
[api_database]
connection = mysql+pymysql://nova:$PASS@$HOST/nova_api
[database]
connection = mysql+pymysql://nova:$PASS@$HOST/nova
$(keystone_authtoken_section nova)
[service_user]
send_service_user_token = False
$(service_client_section placement placement)
$(service_client_section neutron nova)
[glance]
region_name = RegionOne
[cinder]
os_region_name = RegionOne
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 30
[vnc]
enabled = False
[oslo_concurrency]
lock_path = $DATA/nova/locks
[oslo_messaging_rabbit]
amqp_durable_queues = False
[wsgi]
api_paste_config = $ETC/nova/api-paste.ini
$(profiler_section)
EOT
}
step_nova() {
  step_rabbit
  create_db nova_api nova; create_db nova nova; create_db nova_cell0 nova
  admin_env
  ensure_service_user nova
  ensure_endpoints compute nova "http://$HOST:8774/v2.1"
  ensure_endpoints network neutron "http://$HOST:9696"     # served by files/fake_neutron.py
  mkdir -p "$ETC/nova" "$DATA/nova/instances" "$DATA/nova/locks" "$LAB/bin"
  sed "s|/etc/nova/healthcheck_disable|$ETC/nova/healthcheck_disable|" /etc/nova/api-paste.ini >"$ETC/nova/api-paste.ini"
  nova_conf >"$ETC/nova/nova.conf"
  awk '/^\[/{skip=($0=="[database]" || $0=="[api_database]")} !skip' "$ETC/nova/nova.conf" >"$ETC/nova/nova-compute.conf"
  local NM="nova-manage --config-file $ETC/nova/nova.conf"
  $NM api_db sync >>"$LOGS/nova-manage.log" 2>&1
  $NM cell_v2 list_cells 2>/dev/null | grep ' cell0 ' >/dev/null ||
    $NM cell_v2 map_cell0 --database_connection "mysql+pymysql://nova:$PASS@$HOST/nova_cell0" >>"$LOGS/nova-manage.log" 2>&1
  $NM cell_v2 list_cells 2>/dev/null | grep ' cell1 ' >/dev/null ||
    $NM cell_v2 create_cell --name=cell1 --verbose >>"$LOGS/nova-manage.log" 2>&1
  $NM db sync >>"$LOGS/nova-manage.log" 2>&1
  install -m 755 "$LAB_DIR/files/nova-compute" "$LAB/bin/nova-compute"
  install -m 755 "$LAB_DIR/files/fake_neutron.py" "$LAB/bin/fake_neutron.py"
  start_daemon fake-neutron /usr/bin/python3 "$LAB/bin/fake_neutron.py" 9696
  wait_port 9696 30
  uwsgi_service nova-api 8774 /usr/bin/nova-api-wsgi OS_NOVA_CONFIG_DIR="$ETC/nova"
  start_daemon nova-conductor /usr/bin/nova-conductor --config-file "$ETC/nova/nova.conf"
  start_daemon nova-scheduler /usr/bin/nova-scheduler --config-file "$ETC/nova/nova.conf"
  start_daemon nova-compute "$LAB/bin/nova-compute" --config-file "$ETC/nova/nova-compute.conf"
  wait_http "http://$HOST:8774/" 120 nova-api
  local i
  for i in $(seq 1 90); do
    openstack compute service list -f value -c Binary -c State 2>/dev/null | grep 'nova-compute up' >/dev/null && break
    sleep 2
  done
  $NM cell_v2 discover_hosts --verbose >>"$LOGS/nova-manage.log" 2>&1
  openstack flavor show m1.nano >/dev/null 2>&1 || openstack flavor create --id 42 --ram 64 --disk 1 --vcpus 1 m1.nano >/dev/null
  openstack flavor show m1.micro >/dev/null 2>&1 || openstack flavor create --id 84 --ram 128 --disk 1 --vcpus 1 m1.micro >/dev/null
  [ -f "$DATA/tiny.img" ] || head -c 1048576 /dev/urandom >"$DATA/tiny.img"
  local img
  for img in cirros-fake cirros-fake-2; do
    openstack image show $img >/dev/null 2>&1 ||
      openstack image create --disk-format raw --container-format bare --public --file "$DATA/tiny.img" $img >/dev/null
  done
  log "nova OK"
}
