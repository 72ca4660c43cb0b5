// Package shard is the local store of one vsdb node: strings, integers and floats as Redis keeps
// them, hashes, TTLs and memory accounting. Every mutation is applied with a timestamp that comes from
// the ordered operation, never from the applying replica's clock, so that replicas that apply the same
// operations in the same order hold the same data.
package shard
