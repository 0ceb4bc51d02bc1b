#!/usr/bin/env bash
# After a test run with LATCHKEY_TEST_SECRETS_FILE=LEDGER and TMPDIR=ROOT: greps every server log under ROOT for
# every password, one-time code and private-key line the tests used, as whole words (an 8-digit code inside a hex
# request id is not a leak). Prints counts only, never a secret.
#
#   scripts/check-logs-for-secrets.sh LEDGER ROOT
set -euo pipefail
ledger=$1
root=$2
if [ ! -s "$ledger" ]; then
    echo "check-logs-for-secrets: no secrets were recorded in $ledger (was LATCHKEY_TEST_SECRETS_FILE set?)" >&2
    exit 1
fi
mapfile -t logs < <(find "$root" -type f -name '*.log' -not -path '*nginx*' -not -path '*bench*')
if [ ${#logs[@]} -eq 0 ]; then
    echo "check-logs-for-secrets: no server logs under $root" >&2
    exit 1
fi
patterns=$(mktemp)
trap 'rm -f "$patterns"' EXIT
awk 'length($0) >= 8' "$ledger" | sort -u > "$patterns"
secrets=$(wc -l < "$patterns")
bytes=$(cat "${logs[@]}" | wc -c)
if leaked=$(grep -F -w -l -f "$patterns" "${logs[@]}"); then
    echo "check-logs-for-secrets: a secret used by the tests appears in: $leaked" >&2
    exit 1
fi
echo "check-logs-for-secrets: $secrets secrets checked against ${#logs[@]} server logs ($bytes bytes): none found"
