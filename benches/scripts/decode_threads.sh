#!/usr/bin/env bash
# decode --stats on one thread against two, on the same mixed-type Redis 7.0 RDB, in
# one run, alternating; prints the median times and their ratio.
#
#   benches/scripts/decode_threads.sh [KEYS] [RUNS]     (defaults: 2000000 keys, 7 runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=${1:-2000000}
runs=${2:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release -p examples --bin decode -p benches --bin make-bench-rdb
target/release/make-bench-rdb "$work/mixed.rdb" "$keys"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { # command...
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
}

one=(); two=()
for _ in $(seq "$runs"); do
    one+=("$(time_ms target/release/decode --stats --threads 1 "$work/mixed.rdb")")
    two+=("$(time_ms target/release/decode --stats --threads 2 "$work/mixed.rdb")")
done
a=$(printf '%s\n' "${one[@]}" | median)
b=$(printf '%s\n' "${two[@]}" | median)
echo "RDB: $keys keys, $(stat -c %s "$work/mixed.rdb") bytes (Redis 7.0)"
echo "one thread:  ${a} ms (median of $runs): ${one[*]}"
echo "two threads: ${b} ms (median of $runs): ${two[*]}"
awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio: two threads take %.2fx the time of one\n", b / (a > 0 ? a : 1) }'
