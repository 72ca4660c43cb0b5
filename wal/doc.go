// Package wal is the only importer of Badger in vsdb: the SafeSend acceptor log, group checkpoints,
// the membership service's raft log and the DHT persistence methods.
package wal
