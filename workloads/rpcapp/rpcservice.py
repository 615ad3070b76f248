#!/usr/bin/python3
"""nitrace RPC test application: one process of a small oslo.messaging app (Debian python3-oslo.messaging,
python3-eventlet), talking real RPC through a RabbitMQ broker.

USAGE
  rpcservice.py --role db     --truth FILE --portfile FILE
  rpcservice.py --role api    --truth FILE --portfile FILE --transport URL
  rpcservice.py --role worker --truth FILE --portfile FILE --transport URL --server NAME --db HOST:HTTP:RESP
  rpcservice.py --role helper --truth FILE --portfile FILE --transport URL --server NAME --db HOST:HTTP:RESP
  rpcservice.py --role driver --truth FILE --drive http://127.0.0.1:PORT --requests N --concurrency C

Topology: driver -(HTTP)-> api -(RPC through RabbitMQ)-> worker x2 -(RPC)-> helper; worker and helper also call db
(HTTP /query and a Redis-protocol GET/SET server, both stdlib) from inside their RPC handlers.
- api is a thread-per-request HTTP server (like nova-api under uWSGI). Each inbound request makes a fixed plan of
  RPC operations on its handler thread: calls and casts to topic `worker` (the two workers compete for them) and
  fanout casts (every worker gets one).
- worker and helper are eventlet RPC servers (`executor='eventlet'`): every delivered request is handled on its own
  green thread, all on one OS thread, as in nova-conductor/-scheduler/-compute. Handlers make outbound calls of
  their own: Redis and HTTP calls to db (which answer after a delay, so green threads interleave) and, in
  worker.compute, a nested RPC call to helper. Replies are sometimes large (the test broker's frame_max is 16 KB,
  so they span several AMQP frames and many syscalls).

Ground truth, written out of band (one JSON line per request to --truth, never on the wire):
  driver: {"service": "driver", "inbound": null, "outbound": [HTTP call], "t_ns"}
  api:    {"service": "api", "inbound": HTTP request, "outbound": [RPC op, ...]}
  worker/helper, per handled RPC: {"service": NAME, "rpc": {"op", "method", "nt_id"}, "outbound": [call, ...]}
HTTP and Redis calls are named by their connection 4-tuple and index on the connection (0 = first call on it). An
RPC operation is named by `nt_id`, a unique "nt-<16 hex>" string the caller puts first in the RPC's arguments (and
the handler first in its result). The analysis does not use it as evidence (it is none of oslo's ids, and no
request-id pattern); the scorer finds it in the captured message bytes to name each message's spans.

Each process names itself ntr-<role or server name> (PR_SET_NAME). All but db wait for a line "go" on stdin before connecting, so a
capture started in between sees every connection from its first byte.
"""
import argparse
import json
import os
import sys
import time


def set_comm(name):
    """Names the process (PR_SET_NAME; threads created later inherit it) for capture filters and readable output."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(15, name[:15].encode(), 0, 0, 0)
    except Exception:  # naming is a convenience; the app works without it
        pass


def write_portfile(portfile, value):
    if portfile:
        with open(portfile + ".tmp", "w") as f:
            f.write(json.dumps(value))
        os.rename(portfile + ".tmp", portfile)


def wait_for_go():
    """Blocks until the test runner says "go" (a capture may be starting in between)."""
    line = sys.stdin.readline()
    if line.strip() != "go":
        sys.exit(0)


class TruthLog:
    """Ground truth, one JSON line per request, written out of band (a file, never the wire)."""

    def __init__(self, path, service, lock):
        self.f = open(path, "a", buffering=1)
        self.service = service
        self.lock = lock

    def write(self, **line):
        text = json.dumps({"service": self.service, **line})
        with self.lock:
            self.f.write(text + "\n")


def new_id():
    return "nt-" + os.urandom(8).hex()


# ---------------------------------------------------------------------------------------------------- db (stdlib)

def serve_db(args):
    """HTTP /query?ms=N&bytes=M and a Redis-protocol server (GET/SET; a key "slow:N" answers after N ms)."""
    import socketserver
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    class Http(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            q = parse_qs(urlsplit(self.path).query)
            time.sleep(int(q.get("ms", ["0"])[0]) / 1000)
            body = b"[" + b"0," * (int(q.get("bytes", ["100"])[0]) // 2) + b"0]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    store = {}

    class Resp(socketserver.StreamRequestHandler):
        def handle(self):
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                n = int(line[1:])
                parts = []
                for _ in range(n):
                    size = int(self.rfile.readline()[1:])
                    parts.append(self.rfile.read(size + 2)[:-2])
                cmd, key = parts[0].upper(), parts[1].decode()
                if key.startswith("slow:"):
                    time.sleep(int(key.split(":")[1]) / 1000)
                if cmd == b"SET":
                    store[key] = parts[2]
                    self.wfile.write(b"+OK\r\n")
                else:
                    v = store.get(key, b"v" * 64)
                    self.wfile.write(b"$%d\r\n%s\r\n" % (len(v), v))
                self.wfile.flush()

    class ThreadingTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
        daemon_threads = True
        allow_reuse_address = True

    ThreadingHTTPServer.daemon_threads = True
    http = ThreadingHTTPServer(("127.0.0.1", 0), Http)
    resp = ThreadingTCP(("127.0.0.1", 0), Resp)
    threading.Thread(target=resp.serve_forever, daemon=True).start()
    write_portfile(args.portfile, {"http": http.server_address[1], "resp": resp.server_address[1]})
    http.serve_forever()


# --------------------------------------------------------------------------------------- clients inside handlers

class Pools:
    """Keep-alive connections to db (HTTP and Redis), each counting the calls it carried. Under eventlet a green
    thread takes a connection for one call and gives it back, so concurrent handlers use different connections."""

    def __init__(self, host, http_port, resp_port):
        self.host, self.http_port, self.resp_port = host, http_port, resp_port
        self.idle = {"http": [], "resp": []}

    def _record(self, kind, sock, idx, what):
        local, remote = sock.getsockname(), sock.getpeername()
        return {"kind": kind, "what": what, "local_addr": local[0], "local_port": local[1],
                "remote_addr": remote[0], "remote_port": remote[1], "idx": idx}

    def http(self, path):
        import http.client
        conn = self.idle["http"].pop() if self.idle["http"] else None
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.http_port, timeout=30)
            conn.connect()
            conn.nt_idx = 0
        rec = self._record("http", conn.sock, conn.nt_idx, path)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        conn.nt_idx += 1
        self.idle["http"].append(conn)
        return rec

    def resp(self, *words):
        import socket
        entry = self.idle["resp"].pop() if self.idle["resp"] else None
        if entry is None:
            s = socket.create_connection((self.host, self.resp_port), timeout=30)
            entry = [s, s.makefile("rb"), 0]
        s, r, idx = entry
        rec = self._record("redis", s, idx, " ".join(words[:2]))
        s.sendall(b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w.encode()), w.encode()) for w in words))
        line = r.readline()
        if line.startswith(b"$"):
            r.read(int(line[1:]) + 2)
        entry[2] += 1
        self.idle["resp"].append(entry)
        return rec


# ------------------------------------------------------------------------------------- eventlet RPC servers

def serve_rpc(args):
    """worker or helper: an oslo.messaging RPC server on the eventlet executor."""
    import eventlet
    eventlet.monkey_patch()
    import threading  # patched: the truth lock is a green lock
    import oslo_messaging as messaging
    from oslo_config import cfg

    host, http_port, resp_port = args.db.split(":")
    pools = Pools(host, int(http_port), int(resp_port))
    truth = TruthLog(args.truth, args.server, threading.Lock())
    conf = cfg.CONF
    conf([], project="nitrace-rpcapp")
    transport = messaging.get_rpc_transport(conf, url=args.transport)
    helper = messaging.get_rpc_client(transport, messaging.Target(topic="helper", version="1.0"), timeout=60)

    def big(size):
        return "r" * size

    class Worker:
        target = messaging.Target(version="1.0")

        def compute(self, ctxt, nt_id, size, payload=""):
            out = [pools.resp("GET", "slow:%d" % (5 + int(nt_id[-1], 16) % 3 * 5))]
            out.append(pools.http("/query?ms=20&bytes=300"))
            inner = new_id()
            helper.call(ctxt, "lookup", nt_id=inner)
            out.append({"kind": "rpc", "op": "call", "method": "lookup", "topic": "helper", "nt_id": inner})
            out.append(pools.http("/query?ms=5&bytes=100"))
            truth.write(rpc={"op": "call", "method": "compute", "nt_id": nt_id}, outbound=out)
            return {"nt_id": nt_id, "data": big(size)}

        def record(self, ctxt, nt_id):
            out = [pools.http("/query?ms=10&bytes=100"), pools.resp("SET", "rec:" + nt_id, "1")]
            truth.write(rpc={"op": "cast", "method": "record", "nt_id": nt_id}, outbound=out)

        def refresh(self, ctxt, nt_id):
            out = [pools.resp("GET", "slow:3")]
            truth.write(rpc={"op": "fanout", "method": "refresh", "nt_id": nt_id}, outbound=out)

    class Helper:
        target = messaging.Target(version="1.0")

        def lookup(self, ctxt, nt_id):
            out = [pools.resp("GET", "slow:10"), pools.http("/query?ms=3&bytes=100")]
            truth.write(rpc={"op": "call", "method": "lookup", "nt_id": nt_id}, outbound=out)
            return {"nt_id": nt_id, "found": True}

    # Everything imported (greenlet is mapped, so a capture started now can attach its probes): say so, then wait.
    write_portfile(args.portfile, {"loaded": True})
    wait_for_go()
    endpoint = Worker() if args.role == "worker" else Helper()
    server = messaging.get_rpc_server(transport, messaging.Target(topic=args.role, server=args.server), [endpoint],
                                      executor="eventlet", access_policy=messaging.DefaultRPCAccessPolicy)
    server.start()  # queues (topic, topic.server, fanout) are declared and consumed once this returns
    write_portfile(args.portfile + ".ready", {"ready": True})
    while True:
        eventlet.sleep(3600)


# ---------------------------------------------------------------------------------------------- api (threads)

def plan(i):
    """The RPC operations of the driver's request number i (op, method, kwargs besides nt_id)."""
    small, large = 200, 40_000
    return [
        [("call", "compute", {"size": large if i % 8 == 0 else small})],
        [("call", "compute", {"size": small}), ("cast", "record", {})],
        [("fanout", "refresh", {}), ("call", "compute", {"size": small})],
        [("cast", "record", {}), ("call", "compute", {"size": small, "payload": "p" * 20_000})],
    ][i % 4]


def serve_api(args):
    import threading
    import uuid
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import oslo_messaging as messaging
    from oslo_config import cfg

    truth = TruthLog(args.truth, "api", threading.Lock())
    conf = cfg.CONF
    conf([], project="nitrace-rpcapp")
    rpc = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def setup(self):
            super().setup()
            self.nt_idx = 0

        def do_GET(self):
            t_ns = time.time_ns()
            idx, self.nt_idx = self.nt_idx, self.nt_idx + 1
            i = int(self.path.rsplit("/", 1)[1])
            # An oslo context as nova sends it: request ids travel in every message (_context_request_id).
            ctxt = {"request_id": "req-" + str(uuid.uuid4()), "user_id": "u" * 32, "project_id": "p" * 32}
            out = []
            client = rpc["client"]
            for op, method, kw in plan(i):
                nt_id = new_id()
                if op == "call":
                    client.call(ctxt, method, nt_id=nt_id, **kw)
                elif op == "cast":
                    client.cast(ctxt, method, nt_id=nt_id, **kw)
                else:
                    client.prepare(fanout=True).cast(ctxt, method, nt_id=nt_id, **kw)
                out.append({"kind": "rpc", "op": op, "method": method, "topic": "worker", "nt_id": nt_id})
            server = self.connection.getsockname()
            truth.write(inbound={"method": "GET", "path": self.path, "client_addr": self.client_address[0],
                                 "client_port": self.client_address[1], "server_addr": server[0],
                                 "server_port": server[1], "idx": idx, "t_ns": t_ns}, outbound=out)
            body = json.dumps({"ops": len(out)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    # Listening before "go" (the driver is started with the port); RabbitMQ connections only after it.
    ThreadingHTTPServer.daemon_threads = True
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    write_portfile(args.portfile, {"http": httpd.server_address[1]})
    wait_for_go()
    transport = messaging.get_rpc_transport(conf, url=args.transport)
    rpc["client"] = messaging.get_rpc_client(transport, messaging.Target(topic="worker", version="1.0"), timeout=60)
    httpd.serve_forever()


# -------------------------------------------------------------------------------------------------- driver

def drive(args):
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    truth = TruthLog(args.truth, "driver", threading.Lock())
    wait_for_go()
    u = urlsplit(args.drive)
    local = threading.local()
    errors = []

    def one(i):
        try:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
                conn.connect()
                conn.nt_idx = 0
            t_ns = time.time_ns()
            lo, re = conn.sock.getsockname(), conn.sock.getpeername()
            conn.request("GET", "/op/%d" % i)
            resp = conn.getresponse()
            resp.read()
            truth.write(inbound=None, t_ns=t_ns, outbound=[{"kind": "http", "local_addr": lo[0], "local_port": lo[1],
                        "remote_addr": re[0], "remote_port": re[1], "idx": conn.nt_idx, "status": resp.status}])
            conn.nt_idx += 1
            if resp.status != 200:
                errors.append(i)
        except Exception as e:  # counted and reported: the test decides
            errors.append(i)
            print("driver: request %d failed: %s" % (i, e), file=sys.stderr)

    with ThreadPoolExecutor(max_workers=args.concurrency) as ex:
        list(ex.map(one, range(args.requests)))
    print(json.dumps({"requests": args.requests, "errors": len(errors)}), flush=True)
    return 1 if errors else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--role", required=True, choices=["db", "api", "worker", "helper", "driver"])
    p.add_argument("--truth", required=True)
    p.add_argument("--portfile")
    p.add_argument("--transport", help="oslo.messaging transport URL (rabbit://guest:guest@127.0.0.1:PORT/)")
    p.add_argument("--server", help="RPC server name (worker/helper)")
    p.add_argument("--db", help="HOST:HTTP_PORT:RESP_PORT of db")
    p.add_argument("--drive")
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=4)
    args = p.parse_args()
    set_comm("ntr-" + (args.server or args.role))
    if args.role == "db":
        serve_db(args)
    elif args.role == "api":
        serve_api(args)
    elif args.role == "driver":
        sys.exit(drive(args))
    else:
        serve_rpc(args)


if __name__ == "__main__":
    main()
