#!/usr/bin/env python3
"""A local stand-in for an SMS provider or a bank's webhook gateway, for tests only.

It speaks plain HTTP on 127.0.0.1, answers each request with the next status of --statuses (the last one repeats),
and appends every request it received to --record as one JSON line: method, path, headers, body. The tests read
that file and check the wire format (Twilio's form-encoded Messages API, or the signed webhook JSON).
Prints the port it listens on, then serves until killed.
"""
import argparse
import base64
import http.server
import json
import sys
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
parser.add_argument("--statuses", default="200")
args = parser.parse_args()
statuses = [int(s) for s in args.statuses.split(",")]
lock = threading.Lock()
count = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            status = statuses[min(count[0], len(statuses) - 1)]
            count[0] += 1
            with open(args.record, "a") as f:
                f.write(json.dumps({
                    "method": "POST", "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": base64.b64encode(body).decode(), "status": status,
                }) + "\n")
        answer = json.dumps({"sid": "SM0000", "status": "queued"} if status < 300 else {"message": "refused"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
