#!/usr/bin/env python3
"""A webhook receiver written the way receivers for registry:2 notifications are: it accepts POSTs
of application/vnd.docker.distribution.events.v1+json, parses the {"events": [...]} envelope and
reads each event's fields as registry:2 names them. Used by notifications_test.sh.

  webhook_receiver.py PORTFILE LOG [--port N] [--secret S] [--fail-first]

Binds 127.0.0.1 (port N, or a free one written to PORTFILE). For every event it appends one JSON
line to LOG: {"id","action","repository","tag","digest","sig":"ok|bad|none","attempt"}.
--fail-first answers 500 to the first delivery of each event id (recorded with "rejected": true),
so the sender must retry with the same id. Malformed deliveries are logged with "error".
"""
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"


def main():
    portfile, logpath = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    secret = args[args.index("--secret") + 1].encode() if "--secret" in args else None
    fail_first = "--fail-first" in args
    seen = set()

    def record(obj):
        with open(logpath, "a") as f:
            f.write(json.dumps(obj) + "\n")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ctype = self.headers.get("Content-Type", "")
            if ctype.split(";")[0].strip() != MEDIA_TYPE:
                record({"error": "content type " + ctype})
                self.send_response(415)
                self.end_headers()
                return
            sig = "none"
            got = self.headers.get("X-Berth-Signature-256")
            if got is not None and secret is not None:
                want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                sig = "ok" if hmac.compare_digest(got, want) else "bad"
            try:
                envelope = json.loads(body)
                events = envelope["events"]
                parsed = []
                for ev in events:
                    target = ev["target"]
                    parsed.append({
                        "id": ev["id"], "timestamp": ev["timestamp"], "action": ev["action"],
                        "repository": target["repository"], "tag": target.get("tag", ""),
                        "digest": target.get("digest", ""), "mediaType": target.get("mediaType", ""),
                        "method": ev["request"]["method"], "useragent": ev["request"]["useragent"],
                        "actor": ev["actor"].get("name", ""), "source": ev["source"].get("addr", ""),
                        "sig": sig})
            except (ValueError, KeyError, TypeError) as e:
                record({"error": "bad envelope: %r" % (e,)})
                self.send_response(400)
                self.end_headers()
                return
            reject = fail_first and any(p["id"] not in seen for p in parsed)
            for p in parsed:
                p["rejected"] = reject
                p["retry"] = p["id"] in seen
                seen.add(p["id"])
                record(p)
            self.send_response(500 if reject else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = HTTPServer(("127.0.0.1", port), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
