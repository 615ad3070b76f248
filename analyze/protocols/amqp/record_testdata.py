#!/usr/bin/python3
"""Records real AMQP 0-9-1 traffic of oslo.messaging RPC (kombu/py-amqp -> RabbitMQ) into testdata.ts, one
exported chunk list per TCP connection (run by hand; unit tests only read testdata.ts).

Needs rabbitmq-server, python3-oslo.messaging (Debian). Start a throwaway broker on 127.0.0.1 (guest/guest), then:
  /usr/bin/python3 analyze/protocols/amqp/record_testdata.py 15673
An RPC server (topic 'conductor', server 'host1') and a client run in this process; every AMQP connection goes
through a loopback proxy that records each recv() per direction (see ../recording_proxy.py).
_context_trace_info is filled with 'x' bytes the way ground-truth masking leaves it.
"""
import base64, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # analyze/protocols/
from recording_proxy import RecordingProxy, emit_ts  # noqa: E402


def main():
    import logging
    from oslo_config import cfg
    import oslo_messaging as messaging

    logging.basicConfig(level=logging.WARNING)
    proxy = RecordingProxy(int(sys.argv[1]))
    conf = cfg.CONF  # oslo.messaging registers its metrics options on the global CONF
    conf([], project='nitrace-record')
    url = f'rabbit://guest:guest@127.0.0.1:{proxy.port}/'
    transport = messaging.get_rpc_transport(conf, url=url)
    conf.set_override('heartbeat_timeout_threshold', 4, group='oslo_messaging_rabbit')
    conf.set_override('heartbeat_rate', 2, group='oslo_messaging_rabbit')

    class ConductorEndpoint:
        target = messaging.Target(namespace='compute_task', version='1.24')

        def ping(self, ctxt, instance_uuid, payload):
            return {'instance_uuid': instance_uuid, 'state': 'ok', 'size': len(payload)}

        def build_instances(self, ctxt, instances):
            time.sleep(0.05)

        def fail(self, ctxt, reason):
            raise ValueError(reason)

    server = messaging.get_rpc_server(transport, messaging.Target(topic='conductor', server='host1'), [ConductorEndpoint()],
                                      executor='threading')
    server.start()
    time.sleep(1.0)
    client = messaging.get_rpc_client(transport, messaging.Target(topic='conductor', namespace='compute_task', version='1.24'),
                                 timeout=10)
    masked_trace = {'hmac_key': 'x' * 13, 'base_id': 'x' * 36, 'parent_id': 'x' * 36}
    ctxt = {'request_id': 'req-9d0e0a4a-1d3f-4c65-8a1e-1f2f3a4b5c6d', 'global_request_id': 'req-0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
            'user_id': 'd1f0e2c3b4a5968778695a4b3c2d1e0f', 'project_id': '0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'trace_info': masked_trace}
    client.call(ctxt, 'ping', instance_uuid='5b4e1c2a-0000-4000-8000-000000000001', payload='small')
    client.cast(ctxt, 'build_instances', instances=['5b4e1c2a-0000-4000-8000-000000000002'])
    try:
        client.call(ctxt, 'fail', reason='No valid host was found.')
    except Exception:
        pass
    # args come first in the body: a large argument pushes the ids far past a 512-byte capture head.
    client.call(ctxt, 'ping', instance_uuid='5b4e1c2a-0000-4000-8000-000000000003', payload='p' * 3000)
    time.sleep(5)  # lets heartbeats flow
    server.stop()
    server.wait()
    transport.cleanup()
    time.sleep(0.5)

    with proxy.lock:
        chunks = list(proxy.chunks)
    t0 = min(t for _, _, t, _ in chunks)
    by_conn = {}
    for cid, kind, t, data in chunks:
        by_conn.setdefault(cid, []).append([kind, (t - t0) // 1000, base64.b64encode(data).decode()])
    exchanges = [(f'connection{cid}', f'TCP connection {cid} of the oslo.messaging process (client -> broker = request)', by_conn[cid])
                 for cid in sorted(by_conn)]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'testdata.ts')
    emit_ts(out, f'RabbitMQ 3.10 + oslo.messaging 14.0.3 (kombu 5.2, py-amqp 5.1) on loopback, recorded {time.strftime("%Y-%m-%d")}; '
            'all connections share one clock', exchanges)
    print('wrote', out, len(exchanges), 'connections')


if __name__ == '__main__':
    main()
