#!/usr/bin/python3
"""Records real memcached text-protocol exchanges (python-memcached and pymemcache -> memcached 1.6) into
testdata.ts (run by hand; unit tests only read testdata.ts).

Needs memcached, python3-memcache, python3-pymemcache (Debian). Start a throwaway server first, e.g.
  memcached -u nobody -l 127.0.0.1 -p 21211 &
then: /usr/bin/python3 analyze/protocols/memcached/record_testdata.py 21211
A loopback proxy between client and server records every recv() per direction (see ../recording_proxy.py).
"""
import os, socket, sys, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # analyze/protocols/
from recording_proxy import RecordingProxy, emit_ts  # noqa: E402


def main():
    import memcache  # python-memcached: keystonemiddleware's and oslo.cache memcache_pool's client
    from pymemcache.client.base import Client  # dogpile.cache.pymemcache's client

    memcache.Client([f'127.0.0.1:{sys.argv[1]}']).flush_all()  # not recorded: a clean server each run
    proxy = RecordingProxy(int(sys.argv[1]))
    exchanges = []
    mc = memcache.Client([f'127.0.0.1:{proxy.port}'])
    token = 'keystone.token-' + 'a' * 32
    mc.set(token, {'user': 'admin', 'roles': ['admin', 'member'], 'expires': '2026-11-27T12:00:00Z'}, time=300)
    mc.get(token)
    mc.get('missing-key')
    mc.get_multi(['tok1', token, 'tok2'])
    mc.delete(token)
    mc.incr('counter')  # NOT_FOUND
    mc.set('counter', '5')
    mc.incr('counter', 2)
    mc.set('big', 'x' * 3000)
    mc.get('big')
    exchanges.append(('pythonMemcached', 'python-memcached 1.59: set (pickled dict), get hit/miss, get_multi, delete, incr miss/hit, a 3000-byte value', proxy.take()))
    mc.disconnect_all()

    c = Client(('127.0.0.1', proxy.port), default_noreply=False)
    c.set('k1', b'v1', expire=60)
    c.add('k1', b'v2')  # NOT_STORED
    c.gets('k1')
    _, cas = c.gets('k1')
    c.cas('k1', b'v3', cas)
    c.touch('k1', 120)
    c.set('k2', b'noreply', noreply=True)
    c.get_many(['k1', 'k2'])
    c.version()
    exchanges.append(('pymemcache', 'pymemcache 3.5.2: set, add (NOT_STORED), gets, cas, touch, set noreply (no reply), get_many, version', proxy.take()))
    c.close()

    s = socket.create_connection(('127.0.0.1', proxy.port))
    for raw in (b'ms meta1 2 T60\r\nhi\r\n', b'mg meta1 v f t\r\n', b'mg nothere v\r\n', b'md meta1\r\n', b'mn\r\n', b'bogus_command\r\n', b'stats slabs\r\n'):
        s.sendall(raw)
        time.sleep(0.1)
    exchanges.append(('metaCommands', 'Meta commands (raw socket): ms, mg hit/miss, md, mn, an unknown command (ERROR), stats slabs', proxy.take()))
    s.close()

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'testdata.ts')
    emit_ts(out, f'memcached 1.6.18 on loopback, recorded {time.strftime("%Y-%m-%d")}', exchanges)
    print('wrote', out)


if __name__ == '__main__':
    main()
