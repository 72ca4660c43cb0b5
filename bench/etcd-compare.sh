#!/usr/bin/env bash
# etcd-compare.sh [REQUESTS] — the etcd side of issue 4's benchmark: a 3-member etcd cluster on loopback
# (Debian's etcd-server; data on tmpfs-backed /dev/shm when present, else /tmp), driven by etcd's own
# benchmark tool (built from go.etcd.io/etcd/v3@v3.5.17, see docs/benchmarks.md) with 50 clients:
# put (strict, linearizable writes) and range (linearizable reads), then one-client put latency.
# Prints requests/s, p50 and the summed CPU of the three etcd processes per request.
# Needs: etcd, /tmp/etcd-benchmark (build: see docs/benchmarks.md §4). Ports 23790-23802.
set -euo pipefail
n=${1:-100000}
bench=${ETCD_BENCHMARK:-/tmp/etcd-benchmark}
dir=$(mktemp -d "${TMPDIR:-/tmp}/etcd-compare.XXXXXX")
tck=$(getconf CLK_TCK)
cluster=""
for i in 1 2 3; do cluster+="e$i=http://127.0.0.1:$((23800 + i)),"; done
cluster=${cluster%,}
pids=()
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$dir/e$i" \
    --listen-client-urls "http://127.0.0.1:$((23790 + i))" --advertise-client-urls "http://127.0.0.1:$((23790 + i))" \
    --listen-peer-urls "http://127.0.0.1:$((23800 + i))" --initial-advertise-peer-urls "http://127.0.0.1:$((23800 + i))" \
    --initial-cluster "$cluster" --initial-cluster-state new --log-level error >"$dir/e$i.log" 2>&1 &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$dir"' EXIT
eps="127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793"
for _ in $(seq 1 100); do
  ETCDCTL_API=3 etcdctl --endpoints "$eps" endpoint health >/dev/null 2>&1 && break
  sleep 0.1
done
cpu() { local t=0; for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
run() { # label requests clients args…
  local label=$1 req=$2 c=$3; shift 3
  local c1 c2 out
  c1=$(cpu)
  out=$("$bench" --endpoints "$eps" --conns "$c" --clients "$c" "$@" --total "$req" 2>&1)
  c2=$(cpu)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '/50% in/ {print $3}')
  echo "etcd   $label c=$c rps=$rps p50_s=$p50 cpu_us_per_op=$(awk -v t=$((c2 - c1)) -v n="$req" -v hz="$tck" 'BEGIN{printf "%.2f", t*1e6/hz/n}')"
}
run PUT "$n" 50 put --key-size 16 --val-size 3 --key-space-size 100000
run GET "$n" 50 range k --consistency l
run PUT $((n / 10)) 1 put --key-size 16 --val-size 3 --key-space-size 100000
