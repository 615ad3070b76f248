import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceLabel } from './services.js';

test('service labels from real process tables (OpenStack lab, test app)', () => {
  const cases: [string, string, string][] = [
    ['uwsgi', '/usr/bin/uwsgi --plugins python3 --http-socket 127.0.0.1:5000 --wsgi-file /usr/bin/keystone-wsgi-public --master', 'keystone-wsgi-public'],
    ['python3', '/usr/bin/python3 /usr/bin/glance-api --config-file /var/lib/nitrace-lab/etc/glance/glance-api.conf', 'glance-api'],
    ['python3', '/usr/bin/python3 /opt/nitrace/workloads/testapp/service.py --name frontend --listen 127.0.0.1:0', 'frontend'],
    ['python3', '/usr/bin/python3 -m stestr.subunit_runner.run discover -t /usr/lib/python3/dist-packages/tempest', 'stestr.subunit_runner.run'],
    ['memcached', '/usr/bin/memcached -u memcache -l 127.0.0.1 -p 11211 -m 64 -c 1024', 'memcached'],
    ['mariadbd', '/usr/sbin/mariadbd --defaults-file=/var/lib/nitrace-lab/etc/my.cnf --user=mysql', 'mariadbd'],
    ['python3', '/usr/bin/python3 /var/lib/nitrace-lab/bin/fake_neutron.py 9696', 'fake_neutron'],
    ['python3', 'python3', 'python3'],
  ];
  for (const [comm, cmdline, want] of cases) assert.equal(serviceLabel(comm, cmdline), want, cmdline);
  assert.equal(serviceLabel('nginx', null), 'nginx');
});
