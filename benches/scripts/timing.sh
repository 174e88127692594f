# Sourced by the comparison scripts (from the repository's root): builds the
# programs, writes the mixed-type Redis 7.0 RDB of $keys keys into $work (removed
# on exit), and times commands.

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release -p examples --bin decode -p benches --bin make-bench-rdb
target/release/make-bench-rdb "$work/mixed.rdb" "$keys"

# The median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Milliseconds a command takes, its output discarded.
time_ms() { # command...
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
}
