#!/usr/bin/env python3
"""Revocation delay across instances (issue 17): two `latchkey serve` instances on one PostgreSQL database; for each
of N devices, a keep-alive mutual-TLS connection to the second instance is open when `latchkey device revoke` (the
CLI, on the database) revokes the device. Measured from the CLI's exit (the revocation is committed) to the first
refusal (a) on the already-open connection and (b) on a new connection made then. Prints p50/max of each.

    Benchmarks/revocation_delay.py --latchkey BIN --database postgres://... [--devices 20] [--markdown]
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import tempfile
import time

from latchkey_process import start


def connect(host, port, ca, cert, key):
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    return http.client.HTTPSConnection(host, port, context=context, timeout=10)


def status(connection):
    try:
        connection.request("GET", "/v1/me")
        response = connection.getresponse()
        response.read()
        return response.status
    except (http.client.HTTPException, OSError):
        return "closed"


def until_refused(make, started):
    connection = make()
    while True:
        result = status(connection)
        if result != 200:
            return time.monotonic() - started
        time.sleep(0.001)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latchkey", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--markdown", action="store_true", help="print a row of Benchmarks/results/latest.md")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="latchkey-revocation-")
    first_data, second_data = os.path.join(work, "a"), os.path.join(work, "b")
    processes = []
    try:
        first, _, _ = start(args.latchkey, first_data, ["--database", args.database])
        processes.append(first)
        shutil.copytree(first_data, second_data)
        second, host, port = start(args.latchkey, second_data, ["--database", args.database])
        processes.append(second)
        common = ["--data-dir", first_data, "--database", args.database]
        subprocess.run([args.latchkey, "user", "add", "--username", "bench-revoke", "--phone", "+15555550199",
                        "--password-stdin", "--bcrypt-cost", "10"] + common, input="bench password\n", text=True,
                       check=True, capture_output=True)
        ca = os.path.join(first_data, "ca", "root.pem")
        open_delays, new_delays = [], []
        for index in range(args.devices):
            key, csr, cert = (os.path.join(work, f"d{index}.{ext}") for ext in ("key", "csr", "pem"))
            subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=x"], check=True, capture_output=True)
            signed = subprocess.run([args.latchkey, "ca", "sign", "--csr", csr, "--user", "bench-revoke", "--out",
                                     cert] + common, check=True, capture_output=True, text=True)
            device = next(word for word in signed.stderr.split() if word.startswith("dev-"))
            held = connect(host, port, ca, cert, key)
            assert status(held) == 200 and status(held) == 200
            subprocess.run([args.latchkey, "device", "revoke", device, "--reason", "bench"] + common, check=True,
                           capture_output=True)
            committed = time.monotonic()
            # Both at once: the open connection polls while a new connection is made.
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                held_delay = pool.submit(until_refused, lambda: held, committed)
                new_delay = pool.submit(until_refused, lambda: connect(host, port, ca, cert, key), committed)
                open_delays.append(held_delay.result())
                new_delays.append(new_delay.result())
        result = {
            "devices": args.devices,
            "open_connection_ms": {"p50": statistics.median(open_delays) * 1000, "max": max(open_delays) * 1000},
            "new_connection_ms": {"p50": statistics.median(new_delays) * 1000, "max": max(new_delays) * 1000},
        }
        if args.markdown:
            held, new = result["open_connection_ms"], result["new_connection_ms"]
            print(f"| R revocation delay: `latchkey device revoke` to refusal on the other instance (PostgreSQL, "
                  f"{args.devices} revocations) | open keep-alive connection p50 {held['p50']:.0f} ms, max "
                  f"{held['max']:.0f} ms; new connection p50 {new['p50']:.0f} ms, max {new['max']:.0f} ms | - | - | "
                  f"≤ 250 ms | `Benchmarks/revocation_delay.py --devices {args.devices}` |")
        else:
            print(json.dumps(result))
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
