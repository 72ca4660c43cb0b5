package shard

import "math"

/*
Eviction. Before a DenyOOM command runs while usedBytes > MaxMemoryBytes, evict:
 1. removes every key whose TTL has passed at nowMs (so the decision depends on the live data only,
    not on which expired keys a replica happened to reclaim already);
 2. while still over the limit, picks a victim per policy and removes it:
    - allkeys-random / volatile-random: one sampled key;
    - allkeys-lru / volatile-lru: of EvictionSamples sampled keys, the least recently used (lowest
      lruMs; ties → smaller key);
    - volatile-ttl: of EvictionSamples sampled keys with a TTL, the nearest deadline;
    - noeviction, or no candidate left (volatile-* with no TTL keys): stop.
Sampling is deterministic: a splitmix64 generator seeded from Config.Seed, the op's nowMs and its
arguments picks a slot (the next non-empty one from a random start, using the occupancy bitmaps) and,
within the slot, the key with the smallest hash(key, draw) — independent of map iteration order.
Bounded: at most maxEvictPerOp victims per command (then the command is refused with OOM).
LRU times are the nowMs of the last command that touched the key (reads included), so replicas agree on
LRU order only if they apply the same reads; the cluster orders reads it wants counted.
*/

const maxEvictPerOp = 1 << 16

func (s *Store) evict(args [][]byte, nowMs int64) {
	s.purgeExpired(nowMs, math.MaxInt)
	p := s.cfg.EvictionPolicy
	if p == PolicyNoEviction {
		return
	}
	seed := fnvU64(fnvOffset, s.cfg.Seed)
	seed = fnvU64(seed, uint64(nowMs))
	for _, a := range args {
		seed = fnv(seed, a)
	}
	r := splitmix{state: seed}
	for range maxEvictPerOp {
		if s.usedBytes <= s.cfg.MaxMemoryBytes {
			return
		}
		bm := &s.occupied
		if p.volatile() {
			bm = &s.volOccupied
		}
		samples := 1
		if p == PolicyAllKeysLRU || p == PolicyVolatileLRU || p == PolicyVolatileTTL {
			samples = s.cfg.EvictionSamples
		}
		var victim *entry
		for range samples {
			c := s.sample(&r, bm, p.volatile())
			if c == nil {
				break
			}
			if victim == nil || evictBefore(p, c, victim) {
				victim = c
			}
		}
		if victim == nil {
			return
		}
		s.remove(victim)
		s.stats.EvictedKeys++
	}
}

// evictBefore reports whether a is a better victim than b under p.
func evictBefore(p Policy, a, b *entry) bool {
	switch p {
	case PolicyAllKeysLRU, PolicyVolatileLRU:
		if a.lruMs != b.lruMs {
			return a.lruMs < b.lruMs
		}
	case PolicyVolatileTTL:
		if a.expireMs != b.expireMs {
			return a.expireMs < b.expireMs
		}
	}
	return a.key < b.key
}

// sample draws one key (with a TTL if volatile) deterministically, or nil if there is none.
func (s *Store) sample(r *splitmix, bm *[SlotCount / 64]uint64, volatile bool) *entry {
	slot := nextOccupied(bm, r.intn(SlotCount))
	if slot < 0 {
		slot = nextOccupied(bm, 0)
		if slot < 0 {
			return nil
		}
	}
	draw := r.next()
	var best *entry
	var bestH uint64
	for e := s.slotHead[slot]; e != nil; e = e.slotNext {
		if volatile && e.expireMs == 0 {
			continue
		}
		h := mix64(fnv(draw, []byte(e.key)))
		if best == nil || h < bestH || (h == bestH && e.key < best.key) {
			best, bestH = e, h
		}
	}
	return best
}
