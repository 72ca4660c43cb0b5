// Package sim is the deterministic simulator of the vsync group layer: seeded network faults (delay,
// reorder, drop, duplicate, partition, heal), process crashes and restarts with surviving logs, a fake
// clock in ticks, a workload of every flavour, membership replicas on raft, and the history checkers of
// vsync/check. One seed replays one run exactly.
package sim
