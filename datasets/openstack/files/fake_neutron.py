#!/usr/bin/python3
"""Minimal *fake* Neutron (networking API v2.0) stub for a neutron-less nova lab.

Nova Zed always talks to Neutron; with no real Neutron, server create fails.  This stub answers
the handful of calls nova-api / nova-compute make when a project has NO networks, so instances
boot with zero NICs (nova treats "no networks available" as "boot without networking"):
  GET  /v2.0/extensions        -> []
  GET  /v2.0/networks|ports|subnets|floatingips|...  -> empty lists
  GET  /v2.0/security-groups   -> one "default" group per project
It does not validate tokens.  Every request is logged (method, path, request-id headers).
"""
import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

HOST, PORT = "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9696
SG_NS = uuid.UUID("8f0c1a9e-5b4e-4f5e-9a51-3f1f6f6a0001")


def default_sg(project_id):
    return {"id": str(uuid.uuid5(SG_NS, project_id or "none")), "name": "default",
            "description": "fake default security group", "tenant_id": project_id,
            "project_id": project_id, "security_group_rules": [], "stateful": True,
            "tags": [], "revision_number": 0}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-neutron/0.1"

    def log_message(self, fmt, *args):
        pass

    def _log(self, code):
        rid = self.headers.get("X-Openstack-Request-Id", "-")
        print("%s %s %s -> %d req-id=%s ua=%s" % (self.log_date_time_string(), self.command, self.path,
              code, rid, self.headers.get("User-Agent", "-")), flush=True)

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Openstack-Request-Id", "req-" + str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)
        self._log(code)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        parts = [p for p in u.path.split("/") if p]
        if not parts:
            return self._send(200, {"versions": [{"id": "v2.0", "status": "CURRENT",
                                                 "links": [{"rel": "self", "href": "http://%s:%d/v2.0/" % (HOST, PORT)}]}]})
        if parts[0] == "v2.0":
            parts = parts[1:]
        if not parts:
            return self._send(200, {"resources": []})
        res = parts[0]
        if res.endswith(".json"):
            res = res[:-5]
        if res == "extensions":
            return self._send(200, {"extensions": []})
        if res == "security-groups":
            proj = (q.get("tenant_id") or q.get("project_id") or [self.headers.get("X-Project-Id", "")])[0]
            sg = default_sg(proj)
            if len(parts) > 1:
                return self._send(200, {"security_group": sg})
            names = q.get("name")
            if names and "default" not in names and sg["id"] not in names:
                return self._send(200, {"security_groups": []})
            return self._send(200, {"security_groups": [sg]})
        if res == "quotas":
            return self._send(200, {"quota": {"port": -1, "network": -1, "security_group": -1}})
        key = res.replace("-", "_")
        if len(parts) > 1:
            return self._send(404, {"NeutronError": {"type": "NotFound", "message": "%s %s not found" % (res, parts[1]), "detail": ""}})
        return self._send(200, {key: []})

    def do_DELETE(self):
        self._send(404, {"NeutronError": {"type": "NotFound", "message": "not found", "detail": ""}})

    def do_POST(self):
        self._read_body()
        self._send(400, {"NeutronError": {"type": "BadRequest", "message": "fake neutron: no networks", "detail": ""}})

    do_PUT = do_POST


if __name__ == "__main__":
    print("fake neutron listening on %s:%d" % (HOST, PORT), flush=True)
    ThreadingHTTPServer((HOST, PORT), H).serve_forever()
