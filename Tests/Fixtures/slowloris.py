#!/usr/bin/env python3
"""Slow-loris against a TLS listener: connections that dribble a request head, or a TLS handshake, or nothing, one
byte at a time, while a well-behaved client keeps asking GET /v1/health. Prints one JSON object:
{"closed_after": [seconds until the server closed each slow connection, or null], "normal_ok": N, "normal_failed": N}.

Usage: slowloris.py --host=127.0.0.1 --port=PORT --ca=ROOT.pem --connections=N --seconds=S
"""
import argparse
import http.client
import json
import socket
import ssl
import threading
import time


def dribble(kind, host, port, context, interval, give_up, results, index):
    start = time.monotonic()
    try:
        raw = socket.create_connection((host, port), timeout=give_up)
        if kind == "head":
            conn = context.wrap_socket(raw, server_hostname=None)
            payload = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000
        elif kind == "handshake":
            # The first bytes of a TLS ClientHello record, then the rest never comes quickly.
            conn = raw
            payload = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]) + b"\x00" * 10_000
        else:
            conn = raw
            payload = b""
        conn.settimeout(interval)
        position = 0
        while time.monotonic() - start < give_up:
            if position < len(payload):
                conn.send(payload[position:position + 1])
                position += 1
            try:
                if conn.recv(1) == b"":
                    break
            except (socket.timeout, TimeoutError):
                continue
            except ssl.SSLWantReadError:
                continue
        else:
            results[index] = None
            return
        results[index] = time.monotonic() - start
    except (OSError, ssl.SSLError):
        results[index] = time.monotonic() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--connections", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--interval", type=float, default=0.3)
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.ca)
    context.check_hostname = False
    kinds = ["head", "handshake", "silent"]
    results = [None] * args.connections
    threads = [
        threading.Thread(target=dribble, args=(kinds[i % 3], args.host, args.port, context, args.interval,
                                               args.seconds, results, i), daemon=True)
        for i in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    ok = failed = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPSConnection(args.host, args.port, context=context, timeout=5)
            conn.request("GET", "/v1/health")
            if conn.getresponse().status == 200:
                ok += 1
            else:
                failed += 1
            conn.close()
        except (OSError, ssl.SSLError, http.client.HTTPException):
            failed += 1
        time.sleep(0.2)
    for thread in threads:
        thread.join(timeout=args.seconds)
    print(json.dumps({"closed_after": results, "kinds": [kinds[i % 3] for i in range(args.connections)],
                      "normal_ok": ok, "normal_failed": failed}))


if __name__ == "__main__":
    main()
