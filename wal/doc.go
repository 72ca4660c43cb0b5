// Package wal is the only importer of Badger in vsdb: the SafeSend acceptor log, group checkpoints,
// the membership service's raft log and the DHT persistence methods.
//
// One DB (Open) is one Badger database in a node's data directory. Its users each own a key namespace
// (a kind and a prefix string):
//
//   - RaftLog: durable raft storage for vsync/membership (membership.RaftStorage). It behaves as a
//     raft.MemoryStorage whose every mutation is durable when the call returns and which reloads, after
//     Close or a crash, to the state after the last call that returned.
//   - SafeLog: the process's SafeSend acceptor log (the method set of server/group.LogStore): Append is
//     durable when it returns, Forget removes a group's entries by tag through an index, Entries lists
//     what survives, oldest first.
//
// Writes are fsynced (Options.SyncWrites) and split across Badger transactions only when they exceed
// its size limit, in an order that keeps every crash state valid (see RaftLog and SafeLog).
package wal
