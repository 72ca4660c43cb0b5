#!/usr/bin/env bash
# cpuop.sh PORT PID REDIS-BENCHMARK-ARGS…
# Runs one redis-benchmark (pinned to core 1) against the server listening on PORT whose process is PID,
# and prints the test, its requests per second, and the server's CPU (utime+stime from /proc/PID/stat,
# all threads) per request in microseconds. Used for the quick A/B comparisons in docs/benchmarks.md
# (vsdb, bench/redconref and redis-server started by hand, pinned to core 0); `vsdb bench
# redis-compare` is the full, interleaved harness.
set -euo pipefail
port=$1 pid=$2
shift 2
n=$(echo "$@" | sed -n 's/.*-n \([0-9]*\).*/\1/p')
[ -n "$n" ] || { echo "cpuop.sh: pass -n REQUESTS" >&2; exit 2; }
tck=$(getconf CLK_TCK)
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
out=$(taskset -c 1 redis-benchmark -p "$port" "$@" --csv 2>/dev/null | tail -1)
read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$pid/stat")
ticks=$(( (u2 - u1) + (s2 - s1) ))
echo "$out" | awk -F, -v t="$ticks" -v n="$n" -v hz="$tck" \
  '{gsub(/"/, ""); printf "%s rps=%s cpu_us_per_op=%.2f\n", $1, $2, t * 1e6 / hz / n}'
