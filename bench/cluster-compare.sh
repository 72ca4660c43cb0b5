#!/usr/bin/env bash
# cluster-compare.sh [REQUESTS] — issue 4's benchmark, side by side on this machine:
#   a 3-node vsdb cluster, RF=3 (vsdb dev --nodes 3 --rf 3), versus one redis-server (unreplicated);
#   redis-benchmark SET and GET with 50 clients against the shard's master (the node CLUSTER SLOTS names
#   first, where a Redis Cluster client sends the slot's writes; it is the group's sequencer), then one
#   client SET (latency) against the master and against another node (one more hop inside the group).
# The vsdb binary runs with GODEBUG=schedtrace=2147483647 (it adds it itself; docs/configuration.md);
# GODEBUG=schedtrace=0 in the environment measures without it.
# Then the one-client SETs again with exact percentiles (vsdb bench latency).
# Prints requests/s, p50/p95/p99 latency (redis-benchmark's CSV columns 5, 6, 7; before 2026-11-23 this
# script printed column 6, the p95, under the name p50), and the summed CPU (utime+stime of every server process) per request.
# Needs: go, redis-server, redis-benchmark. Ports 7500-7800 and 6390.
set -euo pipefail
n=${1:-200000}
cd "$(dirname "$0")/.."
go build -o /tmp/vsdb-bench ./cmd/vsdb
tck=$(getconf CLK_TCK)
cpu() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
run() { # name port clients requests test pids…
  local name=$1 port=$2 c=$3 req=$4 test=$5; shift 5
  local c1 c2 out
  c1=$(cpu "$@")
  out=$(redis-benchmark -p "$port" -c "$c" -n "$req" -t "$test" -r 100000 --csv 2>/dev/null | tail -1)
  c2=$(cpu "$@")
  echo "$out" | awk -F, -v name="$name" -v c="$c" -v t=$((c2 - c1)) -v n="$req" -v hz="$tck" \
    '{gsub(/"/, ""); printf "%-6s %-4s c=%-3s rps=%-10s p50_ms=%-7s p95_ms=%-7s p99_ms=%-7s cpu_us_per_op=%.2f\n", name, $1, c, $2, $5, $6, $7, t * 1e6 / hz / n}'
}
GOMAXPROCS=${NODE_GOMAXPROCS:-1} /tmp/vsdb-bench dev --nodes 3 --rf 3 --base-port 7500 >/tmp/cluster-compare.log 2>&1 &
dev=$!
redis-server --port 6390 --save '' --appendonly no >/dev/null 2>&1 &
rs=$!
trap 'kill -INT $dev 2>/dev/null; kill $rs 2>/dev/null; wait' EXIT
for _ in $(seq 1 100); do
  redis-cli -p 7501 cluster info 2>/dev/null | grep -q 'cluster_known_nodes:3' && break
  sleep 0.1
done
pids=$(pgrep -f "vsdb-bench server --port 750" | tr '\n' ' ')
master=$(redis-cli -p 7501 cluster slots | sed -n 4p)
other=7501
[ "$master" = 7501 ] && other=7502
echo "master: 127.0.0.1:$master (CLUSTER SLOTS); other node: 127.0.0.1:$other" 
# Unmeasured warm-up (a tenth of the requests, both servers): the figures are the steady state, not a
# fresh process growing its heaps, buffers and TCP windows.
for port in $master 6390; do redis-benchmark -p $port -c 50 -n $((n / 10)) -t set -r 100000 -q >/dev/null 2>&1; done
for test in set get; do
  run vsdb "$master" 50 "$n" $test $pids
  run redis 6390 50 "$n" $test $rs
done
run vsdb "$master" 1 $((n / 10)) set $pids
run vsdb-o "$other" 1 $((n / 10)) set $pids
run redis 6390 1 $((n / 10)) set $rs
# The same one-client SET load, timed per request without histogram buckets (redis-benchmark's
# percentiles are 8 µs buckets near 150 µs): vsdb bench latency, a Go client.
for t in "vsdb $master" "vsdb-o $other" "redis 6390"; do
  set -- $t
  printf '%-6s SET  c=1   exact: %s\n' "$1" "$(/tmp/vsdb-bench bench latency --addr "127.0.0.1:$2" --requests $((n / 10)))"
done
