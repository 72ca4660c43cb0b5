// Package sim runs the sharded, replicated KV (dht.Cluster replicas fed by vsync members, driven as
// the server drives them) in the deterministic simulator of vsync/sim under seeded faults, with
// clients issuing strict SET/GET/INCR/DEL/MSET/MGET, and checks each run: linearizability (porcupine,
// vsync/check), lost acknowledged writes, partial multi-key reads and replica digest agreement, plus the
// group-layer checkers of vsync/sim. One seed replays one run exactly.
package sim
