#!/usr/bin/python3
"""nitrace test application: one HTTP service (or the load driver) of a small multi-service app.

USAGE
  service.py --name NAME --listen ADDR:PORT --truth FILE [--routes JSON] [--pool N] [--portfile FILE]
  service.py --name driver --drive http://ADDR:PORT/PATH --requests N --concurrency C --truth FILE

Every service is a ThreadingHTTPServer (HTTP/1.1 keep-alive, one thread per connection), or with --async an
asyncio server (one OS thread for every request, like eventlet services). For each inbound request it makes the
outbound calls of its route: on the handler thread ("sequential") or on a ThreadPoolExecutor ("parallel"; with
--async, asyncio.gather), over keep-alive connection pools (http.client, or asyncio streams). It appends its ground truth
to --truth as one JSON line per inbound request: which outbound calls that request made, each identified by its
connection 4-tuple and its index on the connection. The truth never goes on the wire.

Routes (--routes, JSON): {"/page": {"mode": "parallel", "propagate": true, "resp_bytes": 3000, "chunked": false,
  "calls": [{"url": "http://10.0.0.2:8002/check"}, ...]}, ...}. "propagate" forwards (or creates) an
X-Request-ID header, the way OpenStack services forward request ids.
"""
import argparse
import asyncio
import http.client
import json
import queue
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class TruthLog:
    """Ground truth, one JSON line per inbound request, written out of band (a file, never the wire)."""

    def __init__(self, path, service):
        self.f = open(path, "a", buffering=1)
        self.service = service
        self.lock = threading.Lock()

    def write(self, inbound, outbound, t_ns=None):
        line = {"service": self.service, "inbound": inbound, "outbound": outbound}
        if t_ns is not None:
            line["t_ns"] = t_ns
        line = json.dumps(line)
        with self.lock:
            self.f.write(line + "\n")


class Pool:
    """Keep-alive connection pool per host:port; each connection counts the requests it carried."""

    def __init__(self, size):
        self.size = size
        self.idle = {}
        self.lock = threading.Lock()

    def call(self, url, headers, method="GET"):
        u = urlsplit(url)
        key = (u.hostname, u.port)
        with self.lock:
            q = self.idle.setdefault(key, queue.LifoQueue())
        for attempt in range(3):
            try:
                conn = q.get_nowait()
            except queue.Empty:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                conn.nt_idx = 0
                conn.connect()
            try:
                local = conn.sock.getsockname()
                remote = conn.sock.getpeername()
                idx = conn.nt_idx
                conn.request(method, u.path + ("?" + u.query if u.query else ""), headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                conn.nt_idx += 1
                if resp.will_close:
                    conn.close()
                elif q.qsize() < self.size:
                    q.put(conn)
                else:
                    conn.close()
                return {"method": method, "path": u.path, "local_addr": local[0], "local_port": local[1],
                        "remote_addr": remote[0], "remote_port": remote[1], "idx": idx,
                        "status": resp.status, "bytes": len(body)}
            except (OSError, http.client.HTTPException):
                conn.close()
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")


def make_handler(name, routes, pool, executor, truth):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nitrace-testapp"

        def log_message(self, fmt, *args):  # quiet: stderr stays for errors
            pass

        def setup(self):
            super().setup()
            self.nt_idx = 0

        def do_GET(self):
            self.serve()

        def do_POST(self):
            self.serve()

        def serve(self):
            t_ns = time.time_ns()
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            idx = self.nt_idx
            self.nt_idx += 1
            path = self.path.split("?", 1)[0]
            route = routes.get(path, {})
            rid = self.headers.get("X-Request-ID")
            headers = {}
            if route.get("propagate"):
                rid = rid or "req-" + str(uuid.uuid4())
                headers["X-Request-ID"] = rid
            calls = route.get("calls", [])
            if route.get("mode") == "parallel":
                outbound = list(executor.map(lambda c: pool.call(c["url"], headers, c.get("method", "GET")), calls))
            else:
                outbound = [pool.call(c["url"], headers, c.get("method", "GET")) for c in calls]
            if route.get("sleep_ms"):
                time.sleep(route["sleep_ms"] / 1000)
            server = self.connection.getsockname()
            truth.write({"method": self.command, "path": path, "client_addr": self.client_address[0],
                         "client_port": self.client_address[1], "server_addr": server[0],
                         "server_port": server[1], "idx": idx, "t_ns": t_ns}, outbound)
            body = response_body(name, path, route)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if rid:
                self.send_header("X-OpenStack-Request-ID", rid)
            if route.get("chunked"):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(body), 1000):
                    part = body[i:i + 1000]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    return Handler


def response_body(name, path, route):
    body = (json.dumps({"service": name, "path": path}) + " ").encode()
    return body + b"x" * max(0, route.get("resp_bytes", 0) - len(body))


class AsyncPool:
    """Keep-alive connection pool on asyncio streams; each connection counts the requests it carried."""

    def __init__(self):
        self.idle = {}

    async def call(self, url, headers, method="GET"):
        u = urlsplit(url)
        idle = self.idle.setdefault((u.hostname, u.port), [])
        if idle:
            conn = idle.pop()
        else:
            r, w = await asyncio.open_connection(u.hostname, u.port)
            conn = [r, w, 0]
        r, w, idx = conn
        local = w.get_extra_info("sockname")
        remote = w.get_extra_info("peername")
        head = f"{method} {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        w.write(head.encode())
        await w.drain()
        status = int((await r.readline()).split()[1])
        rh = await read_headers(r)
        size = 0
        if "chunked" in rh.get("transfer-encoding", ""):
            while True:
                n = int((await r.readline()).split(b";")[0], 16)
                if n == 0:
                    await read_headers(r)  # trailers up to the empty line
                    break
                size += len((await r.readexactly(n + 2))) - 2
        else:
            size = len(await r.readexactly(int(rh.get("content-length") or 0)))
        conn[2] += 1
        idle.append(conn)
        return {"method": method, "path": u.path, "local_addr": local[0], "local_port": local[1],
                "remote_addr": remote[0], "remote_port": remote[1], "idx": idx, "status": status, "bytes": size}


async def read_headers(r):
    headers = {}
    while True:
        line = await r.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        k, v = line.decode("latin1").split(":", 1)
        headers[k.strip().lower()] = v.strip()


def serve_async(args):
    """The same service on asyncio: every request on one OS thread, as eventlet green threads are."""
    truth = TruthLog(args.truth, args.name)
    routes = json.loads(args.routes) if args.routes else {}
    pool = AsyncPool()

    async def handle(reader, writer):
        idx = 0
        peer = writer.get_extra_info("peername")
        server = writer.get_extra_info("sockname")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                t_ns = time.time_ns()
                method, target, _ = line.decode("latin1").rstrip("\r\n").split(" ", 2)
                headers = await read_headers(reader)
                n = int(headers.get("content-length") or 0)
                if n:
                    await reader.readexactly(n)
                my_idx, idx = idx, idx + 1
                path = target.split("?", 1)[0]
                route = routes.get(path, {})
                rid = headers.get("x-request-id")
                out_headers = {}
                if route.get("propagate"):
                    rid = rid or "req-" + str(uuid.uuid4())
                    out_headers["X-Request-ID"] = rid
                calls = route.get("calls", [])
                if route.get("mode") == "parallel":
                    outbound = list(await asyncio.gather(*[pool.call(c["url"], out_headers, c.get("method", "GET")) for c in calls]))
                else:
                    outbound = [await pool.call(c["url"], out_headers, c.get("method", "GET")) for c in calls]
                truth.write({"method": method, "path": path, "client_addr": peer[0], "client_port": peer[1],
                             "server_addr": server[0], "server_port": server[1], "idx": my_idx, "t_ns": t_ns}, outbound)
                body = response_body(args.name, path, route)
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                head += f"Content-Length: {len(body)}\r\n" + (f"X-OpenStack-Request-ID: {rid}\r\n" if rid else "") + "\r\n"
                writer.write(head.encode() + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        host, port = args.listen.rsplit(":", 1)
        srv = await asyncio.start_server(handle, host, int(port), backlog=128)
        write_portfile(args.portfile, srv.sockets[0].getsockname()[1])
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


def write_portfile(portfile, port):
    if portfile:
        import os
        with open(portfile + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(portfile + ".tmp", portfile)


def serve(args):
    truth = TruthLog(args.truth, args.name)
    routes = json.loads(args.routes) if args.routes else {}
    pool = Pool(args.pool)
    executor = ThreadPoolExecutor(max_workers=args.pool, thread_name_prefix=args.name + "-pool")
    host, port = args.listen.rsplit(":", 1)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    httpd = ThreadingHTTPServer((host, int(port)), make_handler(args.name, routes, pool, executor, truth))
    write_portfile(args.portfile, httpd.server_address[1])
    httpd.serve_forever()


def drive(args):
    truth = TruthLog(args.truth, args.name)
    pool = Pool(args.concurrency)
    errors = 0

    def one(i):
        nonlocal errors
        try:
            t_ns = time.time_ns()
            out = pool.call(args.drive, {})
            truth.write(None, [out], t_ns)
        except Exception as e:  # counted and reported: the test decides whether that is acceptable
            errors += 1
            print(f"driver: request {i} failed: {e}", file=sys.stderr)

    if args.concurrency <= 1:
        for i in range(args.requests):
            one(i)
    else:
        with ThreadPoolExecutor(max_workers=args.concurrency) as ex:
            list(ex.map(one, range(args.requests)))
    print(json.dumps({"requests": args.requests, "errors": errors}))
    return 1 if errors else 0


def set_comm(name):
    """Names the process "nt-<name>" (PR_SET_NAME; threads created later inherit it), so a capture can select the
    test app with --comm while other Python programs run on the machine."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, ("nt-" + name)[:15].encode(), 0, 0, 0)
    except Exception:  # naming is a convenience for filtering; the app works without it
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True)
    p.add_argument("--listen")
    p.add_argument("--truth", required=True)
    p.add_argument("--routes")
    p.add_argument("--pool", type=int, default=4)
    p.add_argument("--portfile")
    p.add_argument("--drive")
    p.add_argument("--requests", type=int, default=10)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--async", dest="use_async", action="store_true", help="asyncio server: one OS thread for all requests")
    args = p.parse_args()
    set_comm(args.name)
    if args.drive:
        sys.exit(drive(args))
    serve_async(args) if args.use_async else serve(args)


if __name__ == "__main__":
    main()
