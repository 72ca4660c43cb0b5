// Package bench holds vsdb's workloads and side-by-side benchmark drivers (redis-server, etcd),
// used by the vsdb bench subcommands; figures go to docs/benchmarks.md.
//
// # redis-compare
//
// RunRedisCompare measures vsdb against redis-server with the same redis-benchmark workloads
// (DESIGN.md §10, issue 2). Method, and the invariants the code keeps:
//
//   - Each round starts both servers fresh on free loopback ports (redis with an empty --save and
//     --appendonly no; vsdb with GOMAXPROCS=1), pinned with taskset to the server core, and waits
//     for a +PONG over TCP. The pinning is checked from /proc/<pid>/status before any run.
//   - For every workload and test (SET and GET as separate redis-benchmark invocations, so each
//     has its own CPU figure) it runs redis-benchmark, pinned to the load core, against the target
//     and then against redis: A B A B. Both servers are stopped at the end of the round.
//   - Server CPU is utime+stime of the server process (all threads) read from /proc/<pid>/stat
//     just before and just after each run, divided by the run's requests. The unit is a 10 ms
//     clock tick; runs with fewer than 100 ticks are flagged as coarse in the report.
//   - Figures are medians over rounds; ratios are target/redis of those medians. A report with
//     fewer than 3 rounds or 500k requests per test, unpinned runs or a busy machine says so.
//   - Every process started is owned: own process group, Pdeathsig SIGKILL, reaped by one
//     goroutine, stopped (SIGTERM, then SIGKILL) on return and killed on ctx cancellation. A
//     redis-benchmark run is bounded by a timeout and cancelled at once when its server exits,
//     because redis-benchmark spins forever against a vanished server.
//
// # latency
//
// MeasureSetLatency (vsdb bench latency) times one client's SETs one by one and reports exact
// nearest-rank percentiles. redis-benchmark's percentiles are HdrHistogram buckets, 8 µs wide between
// 128 and 256 µs (it prints 0.143, 0.151, 0.159 ms …), too coarse for a 150 µs target.
package bench
