#!/usr/bin/env python3
"""An RFC 9421 request signer written independently of Latchkey, with Python's `cryptography` only.

Reads the body from stdin and prints the header fields to add, as JSON: Content-Digest (RFC 9530, sha-256, when
there is a body), Signature-Input and Signature (label sig1; ecdsa-p256-sha256 with the raw r||s signature).
"""
import argparse
import base64
import hashlib
import json
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

def sign(key_path, method, target, body, nonce, keyid, created_offset=0, covered=()):
    """The header fields that sign one request: Content-Digest (when there is a body), Signature-Input, Signature."""
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
    path, _, query = target.partition("?")
    components = ['"@method"', '"@path"', '"@query"']
    lines = [f'"@method": {method.upper()}', f'"@path": {path}', f'"@query": ?{query}']
    headers = {}
    if body:
        digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        headers["Content-Digest"] = digest
        components.append('"content-digest"')
        lines.append(f'"content-digest": {digest}')
    for name, value in covered:
        headers[name] = value
        components.append(f'"{name.lower()}"')
        lines.append(f'"{name.lower()}": {value}')
    created = int(time.time()) + created_offset
    params = "(" + " ".join(components) + f');created={created};nonce="{nonce}";keyid="{keyid}";alg="ecdsa-p256-sha256"'
    lines.append(f'"@signature-params": {params}')
    der = key.sign("\n".join(lines).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    headers["Signature-Input"] = "sig1=" + params
    headers["Signature"] = "sig1=:" + base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode() + ":"
    return headers


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--target", required=True, help="path and query, as sent")
    parser.add_argument("--nonce", required=True)
    parser.add_argument("--keyid", required=True)
    parser.add_argument("--created-offset", type=int, default=0)
    parser.add_argument("--cover", action="append", default=[], help="NAME=VALUE: send and sign this header too")
    args = parser.parse_args()
    covered = [tuple(item.split("=", 1)) for item in args.cover]
    print(json.dumps(sign(args.key, args.method, args.target, sys.stdin.buffer.read(), args.nonce, args.keyid,
                          args.created_offset, covered)))
