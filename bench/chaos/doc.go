// Package chaos runs a real multi-process vsdb cluster on loopback under a fault schedule (kill -9 and
// restart, SIGSTOP/SIGCONT) while concurrent clients run strict single-key reads and writes and
// cross-shard MSET/MGET pairs, then checks the history: linearizability of the single-key operations
// (porcupine, per key), no acknowledged write lost, no partial read of a multi-key write, and equal
// replica digests at quiescence. `vsdb chaos` is its command line.
package chaos
