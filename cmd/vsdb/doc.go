// Command vsdb is the vsdb database: `vsdb server` runs a node, `vsdb bench` runs side-by-side
// benchmarks, `vsdb sim` and `vsdb dhtsim` run the deterministic simulators (group layer; sharded KV), `vsdb dev`
// and `vsdb chaos` run local clusters (the second under faults), `vsdb version` prints the version.
package main
