#!/usr/bin/env bash
# Runs the README's walkthrough blocks verbatim, in a fresh directory, against `latchkey serve --demo` on the
# default ports, so the README cannot drift from the program. Usage: scripts/readme-walkthrough.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${LATCHKEY_BIN:-}" ]; then bin="$(dirname "$LATCHKEY_BIN")"; else bin="$(cd "$repo" && swift build --show-bin-path)"; fi
work="$(mktemp -d)"
cd "$work"
"$bin/latchkey" serve --demo --bcrypt-cost 10 > serve.out 2> serve.err &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "latchkey: ready" serve.out 2>/dev/null && break; sleep 0.2; done
grep -q "latchkey: ready" serve.out
# The blocks call `swift build --show-bin-path` from the package: run them with the repository as the package root.
python3 - "$repo/README.md" > walkthrough.sh <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"<!-- walkthrough:begin -->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S)
print("set -euo pipefail")
for block in blocks:
    print(block)
PY
sed -i "s|\"\$(swift build --show-bin-path)/latchkey\"|\"$bin/latchkey\"|" walkthrough.sh
bash walkthrough.sh > walkthrough.out 2>&1 || { cat walkthrough.out; exit 1; }
cat walkthrough.out
grep -q "refused after revocation, as expected" walkthrough.out
grep -q '"username":"alice"' walkthrough.out
echo "readme walkthrough: ok"
