// Package dht is the operation API the command layer calls: reads, writes, resolvers and ordered
// multi-key operations on keys that map to slots and slots to shards. The single-node implementation
// (Local) applies operations to a local shard.Store under one mutex, reading the injected clock once per
// operation; the clustered one will order the same operations over a vsync group behind the same
// methods. Local also offers a small typed API for embedding Go programs (Get, Put, Remove, Incr, HSet,
// HGet), built on Do so that it follows the same path as RESP; error replies become *ReplyError.
package dht
