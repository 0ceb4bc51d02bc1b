#!/usr/bin/env bash
# The long runs of the security suite, too slow for CI (docs/SECURITY.md):
#   - libFuzzer: 10 million executions per target (CSR intake, request JSON, signature headers);
#   - schemathesis: 500 test cases per operation and phase against both listeners.
# Needs what .ci/run installs (a .venv-tests with schemathesis). Prints the figures to report; exits non-zero on a
# crash or a failed check.
#
#   scripts/security-long.sh [RUNS_PER_FUZZ_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
status=0
Fuzz/run.sh --runs "$runs" || status=1
[ -x .venv-tests/bin/python ] || { python3 -m venv .venv-tests && .venv-tests/bin/pip install -q sslyze schemathesis; }
LATCHKEY_SCHEMATHESIS_PYTHON="$PWD/.venv-tests/bin/python" LATCHKEY_SCHEMATHESIS_MAX_EXAMPLES=500 \
    swift test --no-parallel --filter APIFuzzTests || status=1
exit $status
