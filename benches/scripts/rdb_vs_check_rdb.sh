#!/usr/bin/env bash
# decode --stats against redis-check-rdb on the same mixed-type Redis 7.0 RDB, in one
# run, single thread each; prints the median times and their ratio.
#
#   benches/scripts/rdb_vs_check_rdb.sh [KEYS] [RUNS]     (defaults: 300000 keys, 5 runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=${1:-300000}
runs=${2:-5}
source benches/scripts/timing.sh
check=${REDIS_CHECK_RDB:-/usr/bin/redis-check-rdb}

ours=(); theirs=()
for _ in $(seq "$runs"); do
    ours+=("$(time_ms taskset -c 0 target/release/decode --stats --threads 1 "$work/mixed.rdb")")
    theirs+=("$(time_ms taskset -c 0 "$check" "$work/mixed.rdb")")
done
o=$(printf '%s\n' "${ours[@]}" | median)
t=$(printf '%s\n' "${theirs[@]}" | median)
size=$(stat -c %s "$work/mixed.rdb")
echo "RDB: $keys keys, $size bytes (Redis 7.0)"
echo "decode --stats:  ${o} ms (median of $runs)"
echo "redis-check-rdb: ${t} ms (median of $runs)"
awk -v o="$o" -v t="$t" 'BEGIN { printf "ratio: decode --stats is %.1fx faster\n", t / (o > 0 ? o : 1) }'
