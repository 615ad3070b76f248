#!/usr/bin/python3
"""green_pair.py - an eventlet server whose green threads interleave on one OS thread, for the green-thread tests.

    green_pair.py backend --portfile F               threaded echo server that answers after DELAY seconds
    green_pair.py server --backend PORT --portfile F  eventlet: one green thread per client connection; each handler
                                                     reads a request, calls the backend on a fresh connection,
                                                     answers the client
    green_pair.py client --port P --count N --log F  N concurrent requests; logs, per request, the client's port,
                                                     and the backend port the server handler used (from the answer)

Out of band truth: every handler owns two connections (client <-> server, server -> backend), and the handlers of
concurrent requests overlap in time on one OS thread, so only a green-thread id tells their calls apart. The
backend answers late, so each handler's backend read finds nothing first (-EAGAIN: a `block` event).
"""
import argparse
import json
import os
import socket
import threading
import time

DELAY = 0.2


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(path + ".tmp", path)


def backend(args):
    srv = socket.create_server(("127.0.0.1", 0))
    write_port(args.portfile, srv.getsockname()[1])

    def answer(conn):
        with conn:
            data = conn.recv(1000)
            time.sleep(DELAY)
            conn.sendall(b"ANSWER " + data)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


def server(args):
    import eventlet

    eventlet.monkey_patch()
    srv = eventlet.listen(("127.0.0.1", 0))
    write_port(args.portfile, srv.getsockname()[1])

    def handle(conn):
        with conn:
            request = conn.recv(1000)
            be = eventlet.connect(("127.0.0.1", args.backend))
            be.sendall(b"Q " + request)
            reply = be.recv(1000)
            port = be.getsockname()[1]
            be.close()
            conn.sendall(b"%d %s" % (port, reply))

    while True:
        conn, _ = srv.accept()
        eventlet.spawn(handle, conn)


def client(args):
    results = [None] * args.count
    start = threading.Barrier(args.count)

    def one(i):
        s = socket.create_connection(("127.0.0.1", args.port))
        start.wait()
        s.sendall(b"REQ %d" % i)
        answer = s.recv(1000)
        results[i] = {"request": i, "client_port": s.getsockname()[1], "backend_port": int(answer.split()[0])}
        s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(args.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(args.log, "w") as f:
        json.dump(results, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["backend", "server", "client"])
    p.add_argument("--portfile")
    p.add_argument("--backend", type=int)
    p.add_argument("--port", type=int)
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--log")
    args = p.parse_args()
    {"backend": backend, "server": server, "client": client}[args.mode](args)


if __name__ == "__main__":
    main()
