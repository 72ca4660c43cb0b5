// Package dht is the operation API the command layer calls: reads, writes, resolvers and ordered
// multi-key operations on keys that map to slots and slots to shards. The single-node implementation
// applies operations to a local shard.Store; the clustered one orders them over a vsync group.
package dht
