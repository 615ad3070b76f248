#!/usr/bin/python3
"""traffic.py - one fixed run of TCP socket I/O for comparing two capture data paths on the same traffic.

    traffic.py GOFILE HTTP_PAIR GREEN_PAIR   waits until GOFILE exists (both captures attached), then runs everything below
    traffic.py --inner               (internal) the socket cases on 127.0.0.1, run inside a fresh network namespace

Cases: http_pair.py server + client (keep-alive, fresh connections, large POSTs, 4 concurrent connections) and a
bulk connection (300 responses of 8000 random bytes); then, over IPv4, IPv6 and inside a new network namespace:
a 200 000-byte sendall read back in recv() pieces, write/read, writev/readv, sendmsg/recvmsg with 2 and 3 buffers,
sendfile of 100 000 bytes, a non-blocking recv with nothing to read (EAGAIN), shutdown and close; last, green_pair.py
(eventlet: 8 concurrent handlers on one OS thread, each blocking on its backend read), started 5 s before its client
so that both captures have attached their greenlet probes to it.
Every process is a child of this one, so `nitrace capture --pid <this pid>` follows all of them.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time


def recv_exactly(s, n):
    got = 0
    while got < n:
        chunk = s.recv(min(65536, n - got))
        if not chunk:
            raise ConnectionError("closed early")
        got += len(chunk)


def socket_cases(family, host):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.bind((host, 0))
    srv.listen(4)
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect(srv.getsockname()[:2])
    s, _ = srv.accept()
    for x in (c, s):
        x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # a large body, read in pieces (several rows on the receiving side)
    c.sendall(b"L" * 200000)
    recv_exactly(s, 200000)
    # write / read on the socket fd
    assert os.write(c.fileno(), b"w" * 1000) == 1000
    time.sleep(0.05)
    assert len(os.read(s.fileno(), 4096)) == 1000
    # writev / readv: three buffers each
    assert os.writev(c.fileno(), [b"a" * 100, b"b" * 200, b"c" * 300]) == 600
    time.sleep(0.05)
    bufs = [bytearray(50), bytearray(250), bytearray(1000)]
    assert os.readv(s.fileno(), bufs) == 600
    # sendmsg / recvmsg_into: two and two buffers, the other direction
    assert s.sendmsg([b"x" * 500, b"y" * 600]) == 1100
    time.sleep(0.05)
    got = c.recvmsg_into([bytearray(400), bytearray(1000)])[0]
    assert got == 1100, got
    # sendfile of a 100 000-byte file
    with tempfile.TemporaryFile() as f:
        f.write(b"f" * 100000)
        f.flush()
        sent = 0
        while sent < 100000:
            sent += os.sendfile(c.fileno(), f.fileno(), sent, 100000 - sent)
    recv_exactly(s, 100000)
    # non-blocking recv with nothing to read: EAGAIN
    s.setblocking(False)
    try:
        s.recv(100)
        raise AssertionError("expected EAGAIN")
    except BlockingIOError:
        pass
    s.setblocking(True)
    # request/response ping-pong, small messages
    for i in range(20):
        c.send(b"ping %03d" % i)
        recv_exactly(s, 8)
        s.send(b"pong %03d" % i)
        recv_exactly(c, 8)
    c.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b""
    s.close()
    c.close()
    srv.close()


def start_part(green_pair, work, name, args):
    portfile = os.path.join(work, name + ".port")
    p = subprocess.Popen([sys.executable, green_pair, name, "--portfile", portfile] + args)
    while not os.path.exists(portfile):
        time.sleep(0.05)
    return p, open(portfile).read()


def green(green_pair, work):
    backend, backend_port = start_part(green_pair, work, "backend", [])
    server, port = start_part(green_pair, work, "server", ["--backend", backend_port])
    try:
        time.sleep(5)  # greenlet probes attach to new processes within ~3 s (capture/greenlet_probes.py)
        subprocess.run([sys.executable, green_pair, "client", "--port", port, "--count", "8",
                        "--log", os.path.join(work, "green.json")], check=True)
    finally:
        for p in (server, backend):
            p.kill()
            p.wait()


def main():
    if sys.argv[1] == "--inner":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        socket_cases(socket.AF_INET, "127.0.0.1")
        return
    gofile, http_pair, green_pair = sys.argv[1], sys.argv[2], sys.argv[3]
    while not os.path.exists(gofile):
        time.sleep(0.05)
    work = tempfile.mkdtemp(prefix="nitrace-traffic-")
    portfile = os.path.join(work, "port")
    server = subprocess.Popen([sys.executable, http_pair, "server", "--portfile", portfile])
    try:
        while not os.path.exists(portfile):
            time.sleep(0.05)
        port = open(portfile).read()
        for scenario in ("all", "bulk"):
            subprocess.run([sys.executable, http_pair, "client", "--port", port, "--scenario", scenario, "--count", "300",
                            "--log", os.path.join(work, scenario + ".json")], check=True)
    finally:
        server.kill()
        server.wait()
    socket_cases(socket.AF_INET, "127.0.0.1")
    socket_cases(socket.AF_INET6, "::1")
    subprocess.run(["unshare", "-n", sys.executable, __file__, "--inner"], check=True)
    green(green_pair, work)
    print("traffic done", flush=True)


if __name__ == "__main__":
    main()
