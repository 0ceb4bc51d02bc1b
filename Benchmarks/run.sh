#!/usr/bin/env bash
# Latchkey beside its peers, in one run, on this machine: P1 issuance vs `openssl speed`, P2 enrollment completions vs
# `cfssl serve`, P3 mutual-TLS full handshakes and P4 keep-alive requests vs nginx with `ssl_verify_client on`, P5
# signed transfers vs P4; H keep-alive /v1/health vs nginx, I /v1/me vs /v1/health, A attestation verifications vs
# `openssl speed`, R the revocation delay across two instances on PostgreSQL, and the SQLite engines (the store's own
# path, GRDB through SQLKit; sqlite-nio, its engine before issue 17; GRDB alone) on one file. Writes a Markdown table to
# stdout and to Benchmarks/results/latest.md.
#
#   Benchmarks/run.sh [--runs N] [--seconds S] [--connections C]
#
# Installs nginx and golang-cfssl with apt-get when missing, builds latchkey in release mode (.build-release), starts
# every server on 127.0.0.1 and stops all of them when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v cfssl >/dev/null || missing+=(golang-cfssl)
command -v openssl >/dev/null || missing+=(openssl)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

swift build -c release --product latchkey --scratch-path .build-release >&2
swift build -c release --product latchkey-bench --scratch-path .build-release >&2
python3 Benchmarks/bench.py --latchkey .build-release/release/latchkey \
    --bench .build-release/release/latchkey-bench "$@"

# The revocation delay across two instances on PostgreSQL (a private cluster, as the tests use), appended to the table.
if database=$(scripts/start-test-postgres.sh 2>/dev/null); then
    scratch="revocation_delay_$$"
    psql "$database" -qc "CREATE DATABASE $scratch" >/dev/null
    row=$(python3 Benchmarks/revocation_delay.py --latchkey .build-release/release/latchkey \
        --database "${database%/*}/$scratch" --devices 20 --markdown)
    psql "$database" -qc "DROP DATABASE $scratch" >/dev/null
    echo "$row"
    echo "$row" >> Benchmarks/results/latest.md
fi

# The SQLite engines measured for issue 17 (sqlite-nio, GRDB alone) beside Latchkey's own store, on one database file
# written by `latchkey-bench store`, appended to the table; built in a package of their own (Benchmarks/StoreEngines).
if swift build -c release --package-path Benchmarks/StoreEngines >&2; then
    engines_db="$(mktemp -d)/engines.sqlite"
    seconds=$(python3 -c 'import sys; a=sys.argv[1:]; print(a[a.index("--seconds")+1] if "--seconds" in a else 3)' "$@")
    {
        echo
        echo "Store engines on one SQLite file (\`latchkey-bench store --sqlite-path F --seconds $seconds\`, then \`Benchmarks/StoreEngines: store-engines F --seconds $seconds\`), load generator on CPU 0:"
        echo
        taskset -c 0 .build-release/release/latchkey-bench store --sqlite-path "$engines_db" --seconds "$seconds" \
            | sed 's/^| SQLite |/| Latchkey SQLStore (GRDB through SQLKit), 8 tasks |/'
        echo
        taskset -c 0 Benchmarks/StoreEngines/.build/release/store-engines "$engines_db" --seconds "$seconds"
    } | tee -a Benchmarks/results/latest.md
    rm -rf "$(dirname "$engines_db")"
fi
