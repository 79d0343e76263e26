#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A stand-in for flowgated's API (DESIGN.md §3) on a unix socket, for
checking the CLI without the daemon: canned status/stats, bans and sets kept
in memory, streamed events and a pcap stream. Not used by `make test`
against the real daemon; run it by hand:

    python3 tests/integ/fake_api.py /tmp/fake.sock &
    build/flowgate --socket /tmp/fake.sock stats
"""
import json
import os
import socketserver
import struct
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

STATE = {"generation": 1, "bans": [], "sets": {"blocked": []}}

STATS = {
    "rules": [
        {"name": "drop-udp", "action": "drop", "packets": 5, "bytes": 420},
        {"name": "ping", "action": "allow", "packets": 3, "bytes": 294},
    ],
    "default": {"action": "allow", "packets": 12, "bytes": 1000},
    "drops": {"rule": 5, "default": 0, "ban": 0},
    "interfaces": [{"name": "veth0", "mode": "native", "rx_packets": 20}],
}


def status():
    return {
        "version": "0.1.0",
        "uptime_s": 3725,
        "policy": {"generation": STATE["generation"], "loaded_at": "2025-01-01T00:00:00Z",
                   "source": "/etc/flowgate/policy.yaml"},
        "interfaces": [{"name": "veth0", "mode": "native"}],
        "not_enforced": ["protect"],
    }


EVENT = {"ts": "2025-01-01T00:00:01Z", "event": "drop", "reason": "rule", "rule": "drop-udp",
         "src": "10.10.1.2", "dst": "10.10.2.2", "sport": 40000, "dport": 9999,
         "proto": "udp", "iface": "veth0"}


def pcap_stream(count):
    yield struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    frame = bytes(range(60))
    for i in range(count):
        yield struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"

    def reply(self, code, doc):
        body = json.dumps(doc).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", 0))
        return self.rfile.read(n) if n else b""

    def stream(self, ctype, chunks, delay):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for c in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.flush()
                time.sleep(delay)
            self.wfile.write(b"0\r\n\r\n")
        except BrokenPipeError:
            pass
        self.close_connection = True

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/v1/status":
            return self.reply(200, status())
        if u.path == "/v1/stats":
            return self.reply(200, STATS)
        if u.path == "/v1/bans":
            return self.reply(200, STATE["bans"])
        if u.path == "/v1/services":
            return self.reply(200, [])
        if u.path == "/v1/doctor":
            return self.reply(200, {"checks": [{"name": "kernel", "ok": True, "detail": "6.18"}]})
        if u.path == "/v1/events":
            lines = [json.dumps(EVENT).encode() + b"\n"] * (5 if "follow" in q else 2)
            return self.stream("application/x-ndjson", lines, 0.2 if "follow" in q else 0)
        if u.path == "/v1/capture":
            if q.get("filter", [""])[0] == "bad":
                return self.reply(400, {"error": "bad filter", "detail": "syntax error"})
            return self.stream("application/vnd.tcpdump.pcap", pcap_stream(5), 0.2)
        self.reply(404, {"error": "no such endpoint", "detail": u.path})

    def do_PUT(self):
        text = self.body().decode()
        if self.path != "/v1/policy":
            return self.reply(404, {"error": "no such endpoint"})
        if "bogus" in text:
            return self.reply(400, {"error": "invalid policy",
                                    "detail": ['<api>:3:1: unknown key "bogus"']})
        STATE["generation"] += 1
        self.reply(200, {"generation": STATE["generation"]})

    def do_POST(self):
        doc = json.loads(self.body() or b"null")
        if self.path == "/v1/bans":
            STATE["bans"].append({"cidr": doc["cidr"], "reason": "manual",
                                  "expires_in_s": doc.get("ttl")})
            return self.reply(200, {"ok": True})
        if self.path.startswith("/v1/sets/"):
            name = urllib.parse.unquote(self.path[9:])
            if name not in STATE["sets"]:
                return self.reply(404, {"error": "no set named %s" % name})
            STATE["sets"][name] += doc.get("add", [])
            return self.reply(200, {"size": len(STATE["sets"][name])})
        if self.path in ("/v1/reload", "/v1/detach"):
            return self.reply(200, {"generation": STATE["generation"]})
        self.reply(404, {"error": "no such endpoint"})

    def do_DELETE(self):
        self.body()
        if self.path.startswith("/v1/bans/"):
            cidr = urllib.parse.unquote(self.path[9:])
            STATE["bans"] = [b for b in STATE["bans"] if b["cidr"] != cidr]
            return self.reply(200, {"ok": True})
        if self.path.startswith("/v1/sets/"):
            return self.reply(200, {"ok": True})
        self.reply(404, {"error": "no such endpoint"})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    Server(path, Handler).serve_forever()
