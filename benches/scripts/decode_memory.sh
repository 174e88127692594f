#!/usr/bin/env bash
# decode --memory against decode --stats on the same mixed-type Redis 7.0 RDB,
# both on every core (their default), in one run, alternating; prints the median
# times and their ratio. The memory report writes a line per key; --top 10
# (no key lines) is timed too.
#
#   benches/scripts/decode_memory.sh [KEYS] [RUNS]     (defaults: 360000 keys, 11 runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=${1:-360000}
runs=${2:-11}
source benches/scripts/timing.sh

stats=(); memory=(); top=()
for _ in $(seq "$runs"); do
    stats+=("$(time_ms target/release/decode --stats "$work/mixed.rdb")")
    memory+=("$(time_ms target/release/decode --memory "$work/mixed.rdb")")
    top+=("$(time_ms target/release/decode --memory --top 10 "$work/mixed.rdb")")
done
s=$(printf '%s\n' "${stats[@]}" | median)
m=$(printf '%s\n' "${memory[@]}" | median)
t=$(printf '%s\n' "${top[@]}" | median)
echo "RDB: $keys keys, $(stat -c %s "$work/mixed.rdb") bytes (Redis 7.0), $(nproc) cores"
echo "decode --stats ${s} ms, decode --memory ${m} ms, decode --memory --top 10 ${t} ms (medians of $runs)"
awk -v s="$s" -v m="$m" -v t="$t" 'BEGIN {
    d = s > 0 ? s : 1
    printf "ratio: decode --memory takes %.2fx the time of decode --stats (--top 10: %.2fx)\n", m / d, t / d
}'
