#!/usr/bin/python3
"""http_pair.py - HTTP/1.1 server and client for capture tests, with exact byte counts logged out of band.

    http_pair.py server --host 127.0.0.1 --portfile F        keep-alive server; responds with ?resp=N body bytes
    http_pair.py client --host H --port P --log F [--scenario all|keepalive|bulk]

The client writes raw requests with sendall() and reads responses by Content-Length, so it knows exactly how
many bytes each connection carried; it logs one JSON object per connection to --log.
"""
import argparse
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SECRET_TOKEN = "secret-token-123"
SECRET_PASSWORD = "hunter2"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without NODELAY, Nagle + delayed ACK add 40 ms per response.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        query = parse_qs(urlparse(self.path).query)
        size = int(query.get("resp", ["64"])[0])
        # rand=1: incompressible bodies (to fill a disk); otherwise a repeating pattern.
        body = os.urandom(size) if query.get("rand") else (b"0123456789abcdef" * (size // 16 + 1))[:size]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = handle_one


def recv_response(sock, buf):
    """Read one response; return (bytes consumed, leftover)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return len(head) + 4 + length, rest[length:]


def run_connection(host, port, requests, scenario):
    """requests: list of (method, path, body bytes, extra headers). Returns the log entry."""
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    entry = {"scenario": scenario, "local_port": sock.getsockname()[1], "requests": [], "sent": 0, "received": 0}
    buf = b""
    for method, path, body, headers in requests:
        req = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
        for k, v in headers.items():
            req += f"{k}: {v}\r\n".encode()
        if body:
            req += f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n".encode()
        req += b"\r\n" + body
        sock.sendall(req)
        got, buf = recv_response(sock, buf)
        entry["requests"].append({"line": f"{method} {path}", "req_bytes": len(req), "resp_bytes": got})
        entry["sent"] += len(req)
        entry["received"] += got
    sock.close()
    return entry


def client(args):
    host, port, log = args.host, args.port, []
    get = lambda path: ("GET", path, b"", {})
    if args.scenario in ("all", "keepalive"):
        log.append(run_connection(host, port, [get(f"/ka/{i}?resp=100") for i in range(30)], "keepalive"))
    if args.scenario == "all":
        for i in range(10):
            log.append(run_connection(host, port, [get(f"/fresh/{i}?resp=200")], "fresh"))
        body = json.dumps({"auth": {"user": "bob", "password": SECRET_PASSWORD}, "pad": "x" * 3000}).encode()
        log.append(run_connection(host, port, [("POST", f"/large/{i}?resp=5000", body, {"X-Auth-Token": SECRET_TOKEN})
                                               for i in range(5)], "large"))
        results = [None] * 4

        def worker(k):
            results[k] = run_connection(host, port, [get(f"/conc/{k}/{i}?resp=300") for i in range(10)], "concurrent")

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log.extend(results)
    if args.scenario == "bulk":
        log.append(run_connection(host, port, [get(f"/bulk/{i}?resp=8000&rand=1") for i in range(args.count)], "bulk"))
    with open(args.log, "w") as f:
        json.dump(log, f)


def server(args):
    httpd = ThreadingHTTPServer((args.host, 0), Handler)
    httpd.daemon_threads = True
    with open(args.portfile + ".tmp", "w") as f:
        f.write(str(httpd.server_address[1]))
    os.replace(args.portfile + ".tmp", args.portfile)
    httpd.serve_forever()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--portfile")
    p.add_argument("--log")
    p.add_argument("--scenario", default="all")
    p.add_argument("--count", type=int, default=1000)
    a = p.parse_args()
    server(a) if a.mode == "server" else client(a)
