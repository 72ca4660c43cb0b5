#!/usr/bin/env bash
# ab-cluster.sh LABEL BIN [ENV=VALUE...] — one A/B sample of the 3-node cluster (docs/benchmarks.md §4.6):
# starts `BIN dev --nodes 3 --rf 3` (GOMAXPROCS=1, ports 7500-7800) with ENV, restarting it (up to
# TRIES times, default 6) until node 1 is the shard's master (the group's sequencer), warms up with
# 30,000 SETs, then prints two one-client SET runs (N1 requests, default 20,000), one more timed exactly
# (vsdb bench latency; BIN must have it, so for older builds pass a current one as LATENCY_BIN) and two 50-client
# SET runs (150,000 requests) against node 1. Alternate builds or settings between calls.
# Needs: redis-cli, redis-benchmark.
set -u
label=$1; bin=$2; shift 2
stop() { pkill -INT -f 'dev --nodes 3 --rf 3 --base-port 7500' 2>/dev/null; sleep 1.5; }
master=
for _ in $(seq 1 "${TRIES:-6}"); do
  stop
  (env "$@" GOMAXPROCS=1 setsid "$bin" dev --nodes 3 --rf 3 --base-port 7500 >"/tmp/ab-cluster-$label.log" 2>&1 &)
  for _ in $(seq 1 100); do
    redis-cli -p 7501 cluster info 2>/dev/null | grep -q 'cluster_known_nodes:3' && break
    sleep 0.1
  done
  sleep 1
  master=$(redis-cli -p 7501 cluster slots | sed -n 4p)
  [ "$master" = 7501 ] && break
done
echo "$label master=$master"
redis-benchmark -p 7501 -c 50 -n 30000 -t set -r 100000 -q >/dev/null 2>&1
for _ in 1 2; do
  redis-benchmark -p 7501 -c 1 -n "${N1:-20000}" -t set -r 100000 --csv | tail -1 |
    awk -F, -v l="$label" '{gsub(/"/, ""); printf "%-10s c=1 rps=%s p50=%s p95=%s\n", l, $2, $5, $6}'
done
"${LATENCY_BIN:-$bin}" bench latency --addr 127.0.0.1:7501 --requests "${N1:-20000}" | sed "s/^/$(printf '%-10s' "$label") c=1 exact: /"
for _ in 1 2; do
  redis-benchmark -p 7501 -c 50 -n 150000 -t set -r 100000 --csv | tail -1 |
    awk -F, -v l="$label" '{gsub(/"/, ""); printf "%-10s c=50 rps=%s p50=%s\n", l, $2, $5}'
done
stop
