#!/usr/bin/python3
"""Records real Redis exchanges into testdata.ts (run by hand; unit tests only read testdata.ts).

Needs redis-server and python3-redis (Debian). Start a throwaway server first, e.g.
  redis-server --bind 127.0.0.1 --port 16379 --save '' &
then: /usr/bin/python3 analyze/protocols/redis/record_testdata.py 16379
A loopback proxy sits between client and server and records every recv() per direction, so chunks follow the
real syscall boundaries of the proxy (close to the client's own).
"""
import os, socket, sys, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # analyze/protocols/
from recording_proxy import RecordingProxy, emit_ts  # noqa: E402


def main():
    import redis  # python3-redis

    proxy = RecordingProxy(int(sys.argv[1]))
    exchanges = []
    r = redis.Redis(host='127.0.0.1', port=proxy.port)
    r.ping()
    r.set('nova:compute:host1', 'up', ex=60)
    r.get('nova:compute:host1')
    r.get('missing-key')
    r.incr('counter')
    r.hset('osprofiler:abc', mapping={'name': 'wsgi-start', 'host': 'ctl'})
    r.hgetall('osprofiler:abc')
    r.rpush('list', *[f'item-{i}' for i in range(5)])
    r.lrange('list', 0, -1)
    try:
        r.execute_command('HGET', 'counter', 'x')  # WRONGTYPE error reply
    except redis.ResponseError:
        pass
    exchanges.append(('resp2Session', 'redis-py 4.3.4 (RESP2): PING, SET EX, GET hit/miss, INCR, HSET, HGETALL, RPUSH, LRANGE, a WRONGTYPE error', proxy.take()))
    p = r.pipeline(transaction=False)
    p.set('a', '1'); p.get('a'); p.delete('a')
    p.execute()
    p = r.pipeline(transaction=True)
    p.incr('counter'); p.expire('counter', 100)
    p.execute()
    exchanges.append(('pipelines', 'Pipelines: SET/GET/DEL in one write, then MULTI/INCRBY/EXPIRE/EXEC', proxy.take()))
    r.set('big', 'x' * 3000)
    r.get('big')
    r.zadd('z', {'m1': 1.5, 'm2': 2})
    r.zrange('z', 0, -1, withscores=True)
    exchanges.append(('bigValues', 'A 3000-byte value SET and GET (larger than the 512-byte default snaplen), ZADD, ZRANGE WITHSCORES', proxy.take()))
    r.close()

    s = socket.create_connection(('127.0.0.1', proxy.port))
    for raw in (b'*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n', b'*2\r\n$7\r\nHGETALL\r\n$14\r\nosprofiler:abc\r\n',
                b'*2\r\n$3\r\nGET\r\n$7\r\nnothere\r\n', b'*3\r\n$6\r\nZSCORE\r\n$1\r\nz\r\n$2\r\nm1\r\n', b'PING\r\n',
                b'*2\r\n$9\r\nSUBSCRIBE\r\n$13\r\nnova-notify.1\r\n'):
        s.sendall(raw)
        time.sleep(0.1)
    publisher = socket.create_connection(('127.0.0.1', int(sys.argv[1])))  # not through the proxy
    publisher.sendall(b'*3\r\n$7\r\nPUBLISH\r\n$13\r\nnova-notify.1\r\n$5\r\nhello\r\n')
    publisher.recv(100)
    publisher.close()
    time.sleep(0.1)
    s.sendall(b'*2\r\n$11\r\nUNSUBSCRIBE\r\n$13\r\nnova-notify.1\r\n')
    exchanges.append(('resp3Session', 'RESP3 after HELLO 3 (raw socket): map, null, double, inline PING, SUBSCRIBE with a pushed message, UNSUBSCRIBE', proxy.take()))
    s.close()

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'testdata.ts')
    emit_ts(out, f'redis-server 7.0.15 on loopback, recorded {time.strftime("%Y-%m-%d")}', exchanges)
    print('wrote', out)


if __name__ == '__main__':
    main()
