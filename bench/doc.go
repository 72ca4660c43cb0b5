// Package bench holds vsdb's workloads and side-by-side benchmark drivers (redis-server, etcd),
// used by the vsdb bench subcommands; figures go to docs/benchmarks.md.
package bench
