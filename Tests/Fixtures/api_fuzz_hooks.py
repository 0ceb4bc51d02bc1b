"""schemathesis hooks for api_fuzz.py: sign the requests that need an RFC 9421 signature with the device key.

Without them every generated `POST /v1/transfers` and `DELETE /v1/devices/{id}` would stop at `signature_missing`
and the fuzzer would never reach what lies behind the signature check. Each signed request gets a fresh nonce from
`GET /v1/nonce`; the signature covers the exact bytes requests sends, so the server sees a valid signature over
whatever body the fuzzer made. Configured by LATCHKEY_FUZZ_{API_URL,CA,CERT,KEY,DEVICE_ID}.
"""
import os
import sys

import requests
import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sign_request import sign  # noqa: E402

SIGNED = {("POST", "/v1/transfers"), ("DELETE", "/v1/devices/{id}")}
env = os.environ


class DeviceSignature(requests.auth.AuthBase):
    """Adds Content-Digest, Signature-Input and Signature to a prepared request, over a fresh nonce."""

    def __call__(self, request):
        answer = requests.get(
            env["LATCHKEY_FUZZ_API_URL"] + "/v1/nonce", verify=env["LATCHKEY_FUZZ_CA"],
            cert=(env["LATCHKEY_FUZZ_CERT"], env["LATCHKEY_FUZZ_KEY"]), timeout=10)
        if answer.status_code != 200:
            raise RuntimeError(f"GET /v1/nonce answered {answer.status_code}: {answer.text}")
        nonce = answer.json()["nonce"]
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        # An Idempotency-Key must be covered by the signature, as a real client covers it.
        key = request.headers.get("Idempotency-Key")
        covered = [("Idempotency-Key", key)] if key is not None else []
        request.headers.update(sign(env["LATCHKEY_FUZZ_KEY"], request.method, request.path_url, body, nonce,
                                    env["LATCHKEY_FUZZ_DEVICE_ID"], covered=covered))
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    if (case.operation.method.upper(), case.operation.path) not in SIGNED:
        return
    # schemathesis learns ids from earlier responses (GET /v1/devices lists the calling device): a signed DELETE of
    # the calling device would revoke it and end the run, so that one request goes out unsigned (and is refused).
    if (case.path_parameters or {}).get("id") == env["LATCHKEY_FUZZ_DEVICE_ID"]:
        return
    kwargs["auth"] = DeviceSignature()
