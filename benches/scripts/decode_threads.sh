#!/usr/bin/env bash
# decode --stats and decode (JSON lines) on one thread against two, on the same
# mixed-type Redis 7.0 RDB, in one run, alternating; prints the median times and
# their ratios.
#
#   benches/scripts/decode_threads.sh [KEYS] [RUNS]     (defaults: 2000000 keys, 7 runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=${1:-2000000}
runs=${2:-7}
source benches/scripts/timing.sh

one=(); two=(); json_one=(); json_two=()
for _ in $(seq "$runs"); do
    one+=("$(time_ms target/release/decode --stats --threads 1 "$work/mixed.rdb")")
    two+=("$(time_ms target/release/decode --stats --threads 2 "$work/mixed.rdb")")
    json_one+=("$(time_ms target/release/decode --threads 1 "$work/mixed.rdb")")
    json_two+=("$(time_ms target/release/decode --threads 2 "$work/mixed.rdb")")
done
echo "RDB: $keys keys, $(stat -c %s "$work/mixed.rdb") bytes (Redis 7.0)"
report() { # what one-thread-times... -- two-thread-times...
    local what=$1 a b
    shift
    a=$(printf '%s\n' "${@:1:$runs}" | median)
    b=$(printf '%s\n' "${@:$((runs + 1))}" | median)
    echo "$what: one thread ${a} ms, two threads ${b} ms (medians of $runs)"
    awk -v w="$what" -v a="$a" -v b="$b" 'BEGIN { printf "ratio: %s on two threads takes %.2fx the time of one\n", w, b / (a > 0 ? a : 1) }'
}
report "decode --stats" "${one[@]}" "${two[@]}"
report "decode (JSON)" "${json_one[@]}" "${json_two[@]}"
