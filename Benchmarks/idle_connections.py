#!/usr/bin/env python3
"""Memory of `latchkey serve` (issue 17): its RSS idle, holding N idle keep-alive mutual-TLS connections (each made
one GET /v1/me and stays open), and, with --devices D, after D synthetic devices were added to its SQLite store.

    Benchmarks/idle_connections.py --latchkey BIN --bench BENCH [--connections 10000] [--devices 1000000]
"""
import argparse
import asyncio
import json
import os
import resource
import shutil
import ssl
import subprocess
import tempfile
import time

from latchkey_process import start


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def hold(host, port, context, count):
    connections = []
    semaphore = asyncio.Semaphore(200)

    async def one():
        async with semaphore:
            reader, writer = await asyncio.open_connection(host, port, ssl=context)
            writer.write(f"GET /v1/me HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
            await reader.readexactly(length)
            assert head.startswith(b"HTTP/1.1 200"), head[:40]
            connections.append(writer)

    await asyncio.gather(*(one() for _ in range(count)))
    return connections


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latchkey", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--devices", type=int, default=0)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="latchkey-idle-")
    data = os.path.join(work, "data")
    result = {}
    process = None
    try:
        subprocess.run([args.latchkey, "ca", "init", "--data-dir", data], check=True, capture_output=True)
        subprocess.run([args.latchkey, "user", "add", "--username", "idle", "--phone", "+15555550177",
                        "--password-stdin", "--bcrypt-cost", "10", "--data-dir", data], input="idle password\n",
                       text=True, check=True, capture_output=True)
        key, csr, cert = (os.path.join(work, name) for name in ("d.key", "d.csr", "d.pem"))
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", csr, "-subj", "/CN=x"], check=True, capture_output=True)
        subprocess.run([args.latchkey, "ca", "sign", "--csr", csr, "--user", "idle", "--out", cert, "--data-dir",
                        data], check=True, capture_output=True)
        if args.devices:
            subprocess.run([args.bench, "seed-devices", "--data-dir", data, "--count", str(args.devices)],
                           check=True, capture_output=True)
        process, host, port = start(args.latchkey, data, ["--header-timeout", "300", "--request-timeout", "600"])
        time.sleep(1)
        result["rss_idle_mib"] = round(rss_mib(process.pid), 1)
        context = ssl.create_default_context(cafile=os.path.join(data, "ca", "root.pem"))
        context.load_cert_chain(cert, key)
        loop = asyncio.new_event_loop()
        connections = loop.run_until_complete(hold(host, port, context, args.connections))
        time.sleep(2)
        result["connections"] = len(connections)
        result["rss_with_connections_mib"] = round(rss_mib(process.pid), 1)
        result["kib_per_connection"] = round(
            (result["rss_with_connections_mib"] - result["rss_idle_mib"]) * 1024 / max(1, len(connections)), 1)
        result["devices_stored"] = args.devices + 1
        print(json.dumps(result))
        for writer in connections:
            writer.close()
    finally:
        if process:
            process.terminate()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
