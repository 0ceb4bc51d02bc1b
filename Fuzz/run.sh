#!/usr/bin/env bash
# Builds the libFuzzer targets (release, AddressSanitizer) and runs each on its corpus.
#
#   Fuzz/run.sh                 half a minute per target (what CI runs)
#   Fuzz/run.sh --seconds 600   longer runs
#   Fuzz/run.sh --runs 10000000 a fixed number of executions per target
#
# Seeds live in Fuzz/Corpus/TARGET (kept in git); what the fuzzer adds goes to a scratch copy. A crash is written to
# Fuzz/Crashes/TARGET-* and fails the script: add it to Fuzz/Regressions/TARGET/ so the normal tests replay it.
set -euo pipefail
cd "$(dirname "$0")"
limit=(-max_total_time=30)
case "${1:-}" in
    --seconds) limit=(-max_total_time="$2") ;;
    --runs) limit=(-runs="$2") ;;
    "") ;;
    *) echo "usage: Fuzz/run.sh [--seconds N | --runs N]" >&2; exit 2 ;;
esac

swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld \
    --scratch-path ../.build-fuzz >&2
bin=../.build-fuzz/release
# Swift's runtime keeps metadata caches for the life of the process, which LeakSanitizer reports as leaks at exit;
# and the Swift backtracer must stay out of the way of libFuzzer's own crash report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
export SWIFT_BACKTRACE="enable=no"
mkdir -p Crashes
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for target in csr json signature cbor appattest keydescription; do
    mkdir -p "$scratch/$target"
    # The attestation targets start from seeds made fresh under a test root (no recorded data is committed).
    if [[ $target == cbor || $target == appattest || $target == keydescription ]]; then
        "$bin/fuzz-$target" --write-seeds "$scratch/$target"
    fi
    echo "== fuzz-$target ${limit[*]}" >&2
    if ! "$bin/fuzz-$target" "${limit[@]}" -max_len=16384 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="Crashes/$target-" "$scratch/$target" "Corpus/$target" "Regressions/$target" \
        2> "$scratch/$target.log"; then
        status=1
        tail -40 "$scratch/$target.log" >&2
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$scratch/$target.log" \
        | sed "s/^/fuzz-$target: /" || true
done
exit $status
