#!/usr/bin/env python3
"""The benchmark harness behind Benchmarks/run.sh.

Starts Latchkey (`latchkey serve`, SQLite), nginx (mutual TLS, static 200) and `cfssl serve` on 127.0.0.1, drives each
with the same load generator (`latchkey-bench load`), repeats the figures --runs times and prints one Markdown table
with the median and the min-max spread. Every process it started is stopped when it ends, whatever happens.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Harness:
    def __init__(self, args):
        self.args = args
        self.latchkey = os.path.abspath(args.latchkey)
        self.bench = os.path.abspath(args.bench)
        self.work = tempfile.mkdtemp(prefix="latchkey-bench-")
        self.data = os.path.join(self.work, "data")
        self.processes = []
        cpus = sorted(os.sched_getaffinity(0))
        # The servers on one core, the load generator on another, when there are two.
        self.server_cpu = str(cpus[-1])
        self.generator_cpu = str(cpus[0])

    # -- processes -------------------------------------------------------------------------------------------------

    def start(self, name, argv, cpu, env=None):
        log = open(os.path.join(self.work, name + ".log"), "w")
        full = ["taskset", "-c", cpu] + argv
        process = subprocess.Popen(
            full, stdout=subprocess.PIPE if name == "latchkey" else log, stderr=log, env=env, text=True,
            start_new_session=True)
        self.processes.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def run(self, argv, cpu=None, input_text=None):
        full = (["taskset", "-c", cpu] if cpu else []) + argv
        result = subprocess.run(full, input=input_text, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"bench: `{shlex.join(argv)}` failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    @staticmethod
    def free_port():
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def wait_for_port(self, port, process, name):
        import socket
        deadline = time.time() + 30
        while time.time() < deadline:
            if process.poll() is not None:
                with open(os.path.join(self.work, name.split()[0] + ".log")) as f:
                    tail = f.read()[-2000:]
                raise SystemExit(f"bench: {name} exited with {process.returncode} before listening:\n{tail}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise SystemExit(f"bench: {name} did not listen on {port}")

    # -- set-up ----------------------------------------------------------------------------------------------------

    def start_latchkey(self):
        self.run([self.latchkey, "ca", "init", "--data-dir", self.data])
        process = self.start(
            "latchkey",
            [self.latchkey, "serve", "--data-dir", self.data, "--demo", "--enroll-port", "0", "--api-port", "0",
             "--log-level", "warning"],
            self.server_cpu)
        urls = {}
        for line in process.stdout:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in ("enrollment", "api"):
                urls[parts[1]] = parts[2]
            if line.strip() == "latchkey: ready":
                break
        if process.poll() is not None or len(urls) != 2:
            raise SystemExit("bench: latchkey serve did not start; see " + os.path.join(self.work, "latchkey.log"))
        self.enroll_url, self.api_url = urls["enrollment"], urls["api"]
        self.enroll_device()

    def enroll_device(self):
        """Enrolls one device as alice through the real flow (password, code from the outbox, CSR)."""
        self.device = os.path.join(self.work, "device")
        password = ""
        with open(os.path.join(self.data, "demo-credentials.txt")) as f:
            for line in f:
                if line.startswith("password="):
                    password = line.strip().split("=", 1)[1]
        outbox = os.path.join(self.data, "outbox.jsonl")
        seen = self.lines(outbox)
        client = subprocess.Popen(
            [self.latchkey, "client", "enroll", "--config", os.path.join(self.data, "client-config.json"),
             "--username", "alice", "--password-stdin", "--device-dir", self.device],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        client.stdin.write(password + "\n")
        client.stdin.flush()
        deadline = time.time() + 30
        while self.lines(outbox) <= seen and time.time() < deadline:
            time.sleep(0.1)
        with open(outbox) as f:
            code = json.loads(f.readlines()[-1])["code"]
        _, err = client.communicate(code + "\n", timeout=60)
        if client.returncode != 0:
            raise SystemExit("bench: enrolling the benchmark device failed: " + err.strip())

    @staticmethod
    def lines(path):
        try:
            with open(path) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def start_nginx(self):
        """nginx with the same server certificate chain, the same client CA and one worker on the server core."""
        chain = os.path.join(self.work, "nginx-chain.pem")
        client_ca = os.path.join(self.work, "client-ca.pem")
        def concatenate(target, *names):
            with open(target, "w") as out:
                for name in names:
                    with open(os.path.join(self.data, name)) as f:
                        out.write(f.read().rstrip("\n") + "\n")
        concatenate(chain, "tls/server.pem", "ca/issuing.pem")
        concatenate(client_ca, "ca/issuing.pem", "ca/root.pem")
        self.nginx_port = self.free_port()
        prefix = os.path.join(self.work, "nginx")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{self.nginx_port} ssl;
        ssl_certificate {chain};
        ssl_certificate_key {self.data}/tls/server.key;
        ssl_client_certificate {client_ca};
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / {{
            default_type application/json;
            return 200 '{{"status":"ok"}}';
        }}
    }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        process = self.start("nginx", [nginx, "-p", prefix, "-e", prefix + "/logs/error.log", "-c", conf],
                             self.server_cpu)
        self.wait_for_port(self.nginx_port, process, "nginx")

    def start_cfssl(self):
        """cfssl serve with the Latchkey issuing CA and a client-auth profile, on the server core."""
        config = os.path.join(self.work, "cfssl.json")
        with open(config, "w") as f:
            json.dump({"signing": {
                "default": {"expiry": "168h", "usages": ["digital signature", "client auth"]},
                "profiles": {"client": {"expiry": "168h", "usages": ["digital signature", "client auth"]}}}}, f)
        csr_key = os.path.join(self.work, "cfssl-device.key")
        csr = self.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", csr_key, "-subj", "/CN=bench"])
        self.cfssl_body = os.path.join(self.work, "cfssl-sign.json")
        with open(self.cfssl_body, "w") as f:
            json.dump({"certificate_request": csr, "profile": "client"}, f)
        self.cfssl_port = self.free_port()
        env = dict(os.environ, GOMAXPROCS="1")
        process = self.start(
            "cfssl",
            ["cfssl", "serve", "-address", "127.0.0.1", "-port", str(self.cfssl_port),
             "-ca", os.path.join(self.data, "ca/issuing.pem"), "-ca-key", os.path.join(self.data, "ca/issuing.key"),
             "-config", config, "-loglevel", "2"],
            self.server_cpu, env=env)
        self.wait_for_port(self.cfssl_port, process, "cfssl serve")

    # -- measurements ----------------------------------------------------------------------------------------------

    def load(self, url, mode, workload="static", extra=()):
        argv = [self.bench, "load", "--url", url, "--mode", mode, "--workload", workload,
                "--connections", str(self.args.connections), "--seconds", str(self.args.seconds),
                "--warmup", str(self.args.warmup), "--json"] + list(extra)
        result = json.loads(self.run(argv, cpu=self.generator_cpu))
        if result["errors"]:
            print(f"bench: {result['errors']} errors in `{shlex.join(argv[1:])}`: {result.get('first_error')}",
                  file=sys.stderr)
        shown = []
        for arg in argv[1:]:
            if arg == "--json":
                continue
            shown.append(os.path.basename(arg) if arg.startswith(self.work) else arg)
        result["command"] = "taskset -c " + self.generator_cpu + " latchkey-bench " + shlex.join(shown)
        return result

    def device_args(self):
        return ["--cert", self.device + "/device.pem", "--key", self.device + "/device.key"]

    def p1(self):
        out = self.run([self.bench, "issue", "--seconds", str(self.args.seconds), "--openssl-seconds",
                        str(max(1, int(self.args.seconds)))], cpu=self.generator_cpu)
        row = [line for line in out.splitlines() if line.startswith("| P1")][0]
        cells = [c.strip() for c in row.strip("|").split("|")]
        return float(cells[1]), float(cells[2].split()[0])

    def p2(self):
        expected = int(max(2000, 3000 * (self.args.seconds + self.args.warmup)))
        seeded = self.run([self.bench, "seed-enrollments", "--data-dir", self.data, "--count",
                           str(expected)])
        enrollments = os.path.join(self.work, "enrollments.txt")
        with open(enrollments, "w") as f:
            f.write(seeded)
        ours = self.load(self.enroll_url, "keepalive", "enroll", ["--enrollments", enrollments])
        theirs = self.load(f"http://127.0.0.1:{self.cfssl_port}", "keepalive", "static",
                           ["--method", "POST", "--path", "/api/v1/cfssl/sign", "--body-file", self.cfssl_body])
        return ours, theirs

    def p3(self):
        nginx = f"https://127.0.0.1:{self.nginx_port}"
        ours = self.load(self.api_url, "handshake", "static", ["--path", "/v1/me"] + self.device_args())
        theirs = self.load(nginx, "handshake", "static", ["--path", "/"] + self.device_args())
        return ours, theirs

    def p4(self):
        nginx = f"https://127.0.0.1:{self.nginx_port}"
        ours = self.load(self.api_url, "keepalive", "static", ["--path", "/v1/me"] + self.device_args())
        theirs = self.load(nginx, "keepalive", "static", ["--path", "/"] + self.device_args())
        return ours, theirs

    def health(self):
        """Keep-alive GET /v1/health on the enrollment listener (TLS, no client certificate, no identity)."""
        return self.load(self.enroll_url, "keepalive", "static", ["--path", "/v1/health"])

    def store(self):
        """`latchkey-bench store` on SQLite: durable completions/s (8 concurrent callers, group commit) and
        certificate-status lookups/s with 1,000 and 1,000,000 devices."""
        out = self.run([self.bench, "store", "--seconds", str(self.args.seconds)], cpu=self.generator_cpu)
        row = [line for line in out.splitlines() if line.startswith("| SQLite")][0]
        cells = [c.strip() for c in row.strip("|").split("|")]
        return float(cells[1]), float(cells[2]), float(cells[3])

    def p5(self):
        return self.load(self.api_url, "keepalive", "signed-transfer", ["--device-dir", self.device])

    def attest(self):
        """Attestation verifications per second on one core, each beside the openssl speed limit of its signatures;
        the recorded chains too when ../shared/attestation-vectors is there."""
        argv = [self.bench, "attest", "--seconds", str(self.args.seconds), "--openssl-seconds",
                str(max(1, int(self.args.seconds)))]
        for vectors in (os.environ.get("LATCHKEY_ATTESTATION_VECTORS", ""),
                        os.path.normpath(os.path.join(HERE, "..", "..", "shared", "attestation-vectors")),
                        "/work/shared/attestation-vectors"):
            if vectors and os.path.isdir(vectors):
                argv += ["--vectors", vectors]
                break
        rows = {}
        for line in self.run(argv, cpu=self.generator_cpu).splitlines():
            if line.startswith("| ") and "verified/s" in line:
                cells = [c.strip() for c in line.strip("|").split("|")]
                rows[cells[0]] = (float(cells[1]), float(cells[2].split()[0]), cells[2].split(" ", 1)[1])
        return rows


def spread(values, fmt="{:,.0f}"):
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def latency(results):
    p50 = statistics.median(r["p50_ms"] for r in results)
    p99 = statistics.median(r["p99_ms"] for r in results)
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latchkey", required=True, help="the latchkey binary (release build)")
    parser.add_argument("--bench", required=True, help="the latchkey-bench binary (release build)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--output", default=os.path.join(HERE, "results", "latest.md"))
    args = parser.parse_args()

    harness = Harness(args)
    rows = {name: [] for name in ("P1", "P2", "P3", "P4", "P5", "A", "H", "S")}
    try:
        harness.start_latchkey()
        harness.start_nginx()
        harness.start_cfssl()
        for run in range(args.runs):
            print(f"bench: run {run + 1} of {args.runs}", file=sys.stderr)
            rows["P1"].append(harness.p1())
            rows["P2"].append(harness.p2())
            rows["P3"].append(harness.p3())
            rows["P4"].append(harness.p4())
            rows["H"].append(harness.health())
            rows["P5"].append(harness.p5())
            rows["A"].append(harness.attest())
            rows["S"].append(harness.store())
    finally:
        harness.stop_all()
        shutil.rmtree(harness.work, ignore_errors=True)

    def pair_row(name, title, target, pairs, peer):
        ours = [p[0] for p in pairs]
        theirs = [p[1] for p in pairs]
        ratios = [a["per_second"] / b["per_second"] for a, b in pairs]
        return (f"| {name} {title} | {spread([r['per_second'] for r in ours])}/s ({latency(ours)}) | "
                f"{peer} {spread([r['per_second'] for r in theirs])}/s ({latency(theirs)}) | "
                f"{spread(ratios, '{:.2f}')}× | {target} | `{ours[0]['command']}`; `{theirs[0]['command']}` |")

    cores = f"servers on CPU {harness.server_cpu}, load generator on CPU {harness.generator_cpu}"
    lines = [
        "# Latchkey benchmarks",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores ({cores}); {args.runs} runs of "
        f"{args.seconds:g} s after {args.warmup:g} s of warm-up, {args.connections} connections; Latchkey on SQLite "
        f"(durable commits), log level warning; nginx and cfssl pinned to the same core as Latchkey. Each cell is the "
        f"median with (min–max) over the runs. Produced by `Benchmarks/run.sh --runs {args.runs} --seconds "
        f"{args.seconds:g}`.",
        "",
        "| figure | Latchkey | peer | ratio | target | command |",
        "|---|---|---|---|---|---|",
    ]
    p1_ours = [p[0] for p in rows["P1"]]
    p1_limit = [p[1] for p in rows["P1"]]
    lines.append(
        f"| P1 issuances/s in process, one core | {spread(p1_ours)}/s | openssl speed limit {spread(p1_limit)}/s | "
        f"{spread([a / b for a, b in rows['P1']], '{:.2f}')}× | ≥ 0.85× | "
        f"`taskset -c {harness.generator_cpu} latchkey-bench issue --seconds {args.seconds:g}` |")
    lines.append(pair_row("P2", "enrollment completions/s (HTTPS, durable SQLite commit)", "≥ 1.5×", rows["P2"],
                          "cfssl serve sign (HTTP)"))
    lines.append(pair_row("P3", "mutual-TLS full handshakes/s (GET /v1/me)", "≥ 1.0×", rows["P3"],
                          "nginx ssl_verify_client on"))
    lines.append(pair_row("P4", "keep-alive GET /v1/me/s over mutual TLS", "≥ 0.8×", rows["P4"],
                          "nginx static 200"))
    health = rows["H"]
    nginx = [p[1] for p in rows["P4"]]
    mine = [p[0] for p in rows["P4"]]
    lines.append(
        f"| H keep-alive GET /v1/health/s over TLS (enrollment listener, no identity) | "
        f"{spread([r['per_second'] for r in health])}/s ({latency(health)}) | nginx static 200 (P4) "
        f"{spread([r['per_second'] for r in nginx])}/s | "
        f"{spread([a['per_second'] / b['per_second'] for a, b in zip(health, nginx)], '{:.2f}')}× | ≥ 0.9× | "
        f"`{health[0]['command']}` |")
    lines.append(
        f"| I the cost of identity: keep-alive GET /v1/me (P4) vs GET /v1/health (H) | "
        f"{spread([r['per_second'] for r in mine])}/s | {spread([r['per_second'] for r in health])}/s | "
        f"{spread([a['per_second'] / b['per_second'] for a, b in zip(mine, health)], '{:.2f}')}× | ≥ 0.9× | "
        f"P4 and H above |")
    p5 = rows["P5"]
    p4_ours = [p[0] for p in rows["P4"]]
    lines.append(
        f"| P5 signed POST /v1/transfers/s (nonce + transfer) | {spread([r['per_second'] for r in p5])}/s "
        f"({latency(p5)}) | Latchkey P4 {spread([r['per_second'] for r in p4_ours])}/s | "
        f"{spread([a['per_second'] / b['per_second'] for a, b in zip(p5, p4_ours)], '{:.2f}')}× | (reported) | "
        f"`{p5[0]['command']}` |")
    store_rows = rows["S"]
    lines.append(
        f"| S store (SQLite, no HTTP): durable completions/s, 8 callers | {spread([r[0] for r in store_rows])}/s | - | - | "
        f"(reported) | `taskset -c {harness.generator_cpu} latchkey-bench store --seconds {args.seconds:g}` |")
    lines.append(
        f"| S certificate-status lookups/s at 1,000 / 1,000,000 devices | {spread([r[1] for r in store_rows])}/s / "
        f"{spread([r[2] for r in store_rows])}/s | - | - | ≥ 200,000/s | the same command |")
    for name in rows["A"][0] if rows["A"] else []:
        runs = [r[name] for r in rows["A"] if name in r]
        lines.append(
            f"| A {name} | {spread([r[0] for r in runs])}/s | openssl speed limit {spread([r[1] for r in runs])}/s "
            f"{runs[0][2]} | {spread([r[0] / r[1] for r in runs], '{:.2f}')}× | (reported) | "
            f"`taskset -c {harness.generator_cpu} latchkey-bench attest --seconds {args.seconds:g}` |")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
