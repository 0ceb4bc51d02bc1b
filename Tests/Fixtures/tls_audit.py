#!/usr/bin/env python3
"""TLS configuration audit of one listener with sslyze (run by the Swift test suite).

Fails (exit 1, one line per finding) unless: only TLS 1.2 and 1.3 are accepted; every accepted suite is AEAD with
forward secrecy (ECDHE in TLS 1.2; TLS 1.3 suites are all ephemeral); no compression; renegotiation is secure or
refused, and not open to client-initiated renegotiation DoS.
Usage: tls_audit.py HOST:PORT JSON_OUT [--cert FILE --key FILE]
"""
import json
import subprocess
import sys

target, out = sys.argv[1], sys.argv[2]
extra = sys.argv[3:]
subprocess.run(
    [sys.executable, "-m", "sslyze", "--quiet", "--json_out", out, "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1",
     "--tlsv1_2", "--tlsv1_3", "--compression", "--reneg", *extra, target],
    check=True, stdout=subprocess.DEVNULL)
result = json.load(open(out))["server_scan_results"][0]
findings = []
if result["scan_status"] != "COMPLETED":
    findings.append(f"scan did not complete: {result.get('connectivity_error_trace')}")
else:
    scan = result["scan_result"]
    missing = [name for name in ["ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
               "tls_1_1_cipher_suites", "tls_1_2_cipher_suites", "tls_1_3_cipher_suites", "tls_compression",
               "session_renegotiation"] if not (scan.get(name) or {}).get("result")]
    if missing:
        print("FINDING: could not check " + ", ".join(missing) + " (is the client certificate missing?)")
        sys.exit(1)
    for old in ["ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites", "tls_1_1_cipher_suites"]:
        accepted = scan[old]["result"]["accepted_cipher_suites"]
        if accepted:
            findings.append(f"{old}: {[c['cipher_suite']['name'] for c in accepted]}")
    accepted12 = [c["cipher_suite"]["name"] for c in scan["tls_1_2_cipher_suites"]["result"]["accepted_cipher_suites"]]
    accepted13 = [c["cipher_suite"]["name"] for c in scan["tls_1_3_cipher_suites"]["result"]["accepted_cipher_suites"]]
    if not accepted12 and not accepted13:
        findings.append("no TLS 1.2 or 1.3 suite accepted (is the client certificate missing?)")
    for name in accepted12:
        if "ECDHE" not in name or not ("GCM" in name or "CHACHA20" in name):
            findings.append(f"TLS 1.2 suite without AEAD or forward secrecy: {name}")
    for name in accepted13:
        if not ("GCM" in name or "CHACHA20" in name):
            findings.append(f"TLS 1.3 suite without AEAD: {name}")
    if scan["tls_compression"]["result"]["supports_compression"]:
        findings.append("TLS compression is enabled")
    reneg = scan["session_renegotiation"]["result"]
    if reneg["is_vulnerable_to_client_renegotiation_dos"]:
        findings.append("client-initiated renegotiation is accepted")
    print(json.dumps({"tls1.2": accepted12, "tls1.3": accepted13, "secure_renegotiation": reneg["supports_secure_renegotiation"]}))
for finding in findings:
    print("FINDING: " + finding)
sys.exit(1 if findings else 0)
