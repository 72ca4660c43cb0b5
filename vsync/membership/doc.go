// Package membership is vsdb's membership service (the Isis2 manual's ORACLE): a pure wrapper around
// go.etcd.io/raft/v3's RawNode whose replicated state machine is the ClusterMap, the authoritative
// record of every group's views. One to five replicas run it; a single replica bootstraps alone.
package membership
