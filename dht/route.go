package dht

import "github.com/vsdb/vsdb/shard"

// Hasher maps a key to a slot: the manual's GetHashCode control. Its result is reduced modulo
// shard.SlotCount, and slot → shard stays NS contiguous ranges (ShardOfSlot), so a hasher decides which
// shard holds a key. It must be a pure function of the key's bytes, the same in every member (never Go's
// per-process map hash).
type Hasher interface {
	Slot(key []byte) uint16
}

// HasherFunc adapts a function to Hasher.
type HasherFunc func(key []byte) uint16

// Slot calls f.
func (f HasherFunc) Slot(key []byte) uint16 { return f(key) }

// Hashers returns the hasher of hash generation gen (gen >= 1), or nil when this member does not know
// it. Generation 0 is always Redis Cluster's CRC16 with hash tags (shard.KeySlot) and is not looked up.
// Every member of a cluster must return the same hasher for a generation.
type Hashers func(gen uint64) Hasher

// Router maps keys to shards: NS shards and the hasher of hash generation Gen. The zero hasher is
// Redis Cluster's (generation 0), which cluster clients route by; any other generation is the
// embedded API's custom hasher, which clients cannot know (a node forwards their commands one hop).
type Router struct {
	NS     int
	Gen    uint64
	hasher Hasher
}

// DefaultRouter is the router of generation 0 with ns shards.
func DefaultRouter(ns int) Router { return Router{NS: ns} }

// NewRouter is the router of generation gen with hasher h and ns shards (h nil: generation 0's).
func NewRouter(ns int, gen uint64, h Hasher) Router { return Router{NS: ns, Gen: gen, hasher: h} }

// Custom reports whether keys map through a custom hasher (not Redis Cluster's slots).
func (r Router) Custom() bool { return r.hasher != nil }

// Slot returns key's slot under the router's hasher.
func (r Router) Slot(key []byte) uint16 {
	if r.hasher == nil {
		return shard.KeySlot(key)
	}
	return r.hasher.Slot(key) % shard.SlotCount
}

// ShardOfKey returns the shard of key.
func (r Router) ShardOfKey(key []byte) int { return ShardOfSlot(r.Slot(key), r.NS) }
