"""One keep-alive mutual-TLS connection to the API, for the identity cache tests (issue 17).

    keepalive_client.py HOST PORT CA CERT KEY TRIGGER

Sends GET /v1/me and prints "ready STATUS"; then waits until the file TRIGGER exists and sends GET /v1/me on the
same connection every 10 ms until an answer is not 200, printing "refused STATUS CODE COUNT" (COUNT: the requests
answered 200 after the trigger), or "closed COUNT" if the server closed the connection, or "timeout" after 10 s.
"""
import http.client
import json
import os
import ssl
import sys
import time

host, port, ca, cert, key, trigger = sys.argv[1:7]
context = ssl.create_default_context(cafile=ca)
context.load_cert_chain(cert, key)
connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)


def me():
    connection.request("GET", "/v1/me")
    response = connection.getresponse()
    body = response.read()
    return response.status, body


status, _ = me()
print(f"ready {status}", flush=True)
while not os.path.exists(trigger):
    time.sleep(0.005)
served = 0
deadline = time.time() + 10
while time.time() < deadline:
    try:
        status, body = me()
    except (http.client.HTTPException, ConnectionError, ssl.SSLError, OSError):
        print(f"closed {served}", flush=True)
        sys.exit(0)
    if status != 200:
        code = json.loads(body or b"{}").get("error", "")
        print(f"refused {status} {code} {served}", flush=True)
        sys.exit(0)
    served += 1
    time.sleep(0.01)
print("timeout", flush=True)
