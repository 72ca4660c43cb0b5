package shard

// Item is a read-only view of one live key for aggregation queries. Its methods are valid only during
// the callback that received it.
type Item struct {
	e *entry
}

// Key returns the key.
func (it Item) Key() string { return it.e.key }

// IsHash reports whether the value is a hash (else a string).
func (it Item) IsHash() bool { return it.e.kind == kindHash }

// String returns the string value (nil for a hash).
func (it Item) String() []byte {
	if it.e.kind != kindString {
		return nil
	}
	return it.e.str
}

// Field returns a hash field's value (false for a string or a missing field).
func (it Item) Field(name []byte) ([]byte, bool) {
	if it.e.kind != kindHash {
		return nil, false
	}
	return it.e.hash.get(name)
}

// ForEachLive calls fn for every key of slots first..last (inclusive) that is live at nowMs, slot by
// slot, in each slot's list order. It neither removes expired keys nor touches LRU clocks, so it is
// a pure read: replicas that run it at the same point of the order see the same keys.
func (s *Store) ForEachLive(first, last uint16, nowMs int64, fn func(Item)) {
	for slot := int(first); slot <= int(last) && slot < SlotCount; slot++ {
		for e := s.slotHead[slot]; e != nil; e = e.slotNext {
			if !expired(e, nowMs) {
				fn(Item{e})
			}
		}
	}
}

// Peek returns the live item of key at nowMs without touching LRU clocks or statistics.
func (s *Store) Peek(key []byte, nowMs int64, fn func(Item)) bool {
	e := s.find(key)
	if e == nil || expired(e, nowMs) {
		return false
	}
	fn(Item{e})
	return true
}
