package shard

import (
	"math/bits"
	"sync/atomic"
)

// Item is a read-only view of one live key for aggregation queries. Its methods are valid only during
// the callback that received it.
type Item struct {
	e *entry
	s *Store
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
	return it.s.strOf(it.e)
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
	var sc scanner
	lanes := s.batchLanes()
	for slot := int(first); slot <= int(last) && slot < SlotCount; slot += lanes {
		batch := sc.gather(s, slot, min(lanes, int(last)-slot+1, SlotCount-slot))
		warm(batch)
		for _, e := range batch {
			if !expired(e, nowMs) {
				fn(Item{e, s})
			}
		}
	}
}

/*
scanner gathers the entries of scanLanes consecutive slots at a time so that a scan is not one long chain
of dependent cache misses. A slot's entries are a linked list, so walking one list waits a full memory
latency per entry; walking scanLanes lists side by side (one step of each in turn) keeps that many
independent loads in flight. warm then touches, for the whole batch and one level at a time, the
memory a query reads (the key's bytes, the value, a hash's listpack buffer, or a large hash's field and
value arrays and first fields' bytes), again so that the loads of different entries overlap; the callbacks then run on cached
data. On 333,000 hashes this made a query's scan about 3× faster (docs/benchmarks.md §5).

Invariants: the batch lists the entries of slots slot..slot+n-1 in slot order and, within a slot, in
list order, exactly once each, so ForEachLive's order is the same as a plain walk's; nothing is written.
*/
type scanner struct {
	cur   [scanLanes]*entry
	lanes [scanLanes][]*entry
	batch []*entry
}

// scanLanes is the most slot lists a scan walks side by side; scanBatchEntries is about how many
// entries a batch should hold, so that what warm loads (about five cache lines per entry) is still in
// the core's cache when the callbacks run.
const (
	scanLanes        = 32
	scanBatchEntries = 512
)

// batchLanes returns how many slots a batch spans: scanBatchEntries over the mean entries per occupied
// slot, 1 to scanLanes.
func (s *Store) batchLanes() int {
	occupied := 0
	for _, w := range s.occupied {
		occupied += bits.OnesCount64(w)
	}
	if occupied == 0 || s.keys == 0 {
		return scanLanes
	}
	perSlot := (s.keys + occupied - 1) / occupied
	return max(1, min(scanLanes, scanBatchEntries/perSlot))
}

// warmFields is how many fields of a hash warm touches.
const warmFields = 8

func (sc *scanner) gather(s *Store, slot, n int) []*entry {
	active := 0
	for l := 0; l < n; l++ {
		sc.cur[l] = s.slotHead[slot+l]
		sc.lanes[l] = sc.lanes[l][:0]
		if sc.cur[l] != nil {
			active++
		}
	}
	for active > 0 {
		for l := 0; l < n; l++ {
			if e := sc.cur[l]; e != nil {
				sc.lanes[l] = append(sc.lanes[l], e)
				if sc.cur[l] = e.slotNext; sc.cur[l] == nil {
					active--
				}
			}
		}
	}
	sc.batch = sc.batch[:0]
	for l := 0; l < n; l++ {
		sc.batch = append(sc.batch, sc.lanes[l]...)
	}
	return sc.batch
}

// warmSink keeps warm's loads from being optimised away (one atomic add per batch).
var warmSink atomic.Uint32

// warm loads, level by level across the batch, the memory the callbacks are about to read.
func warm(batch []*entry) {
	var acc byte
	for _, e := range batch {
		if len(e.key) > 0 {
			acc += e.key[0]
		}
		if h := e.hash; h != nil {
			acc += byte(h.n)
		} else if len(e.str) > 0 { // a ValueStore handle when e.ref: warming it is harmless
			acc += e.str[0]
		}
	}
	for _, e := range batch {
		if h := e.hash; h != nil {
			if len(h.lp) > 0 {
				acc += h.lp[0] + h.lp[len(h.lp)-1]
			} else if len(h.fields) > 0 {
				acc += byte(len(h.fields[0]) + len(h.vals[0]))
			}
		}
	}
	for _, e := range batch {
		if h := e.hash; h != nil && !h.listpack {
			for j := 0; j < len(h.fields) && j < warmFields; j++ {
				if f, v := h.fields[j], h.vals[j]; len(f) > 0 && len(v) > 0 {
					acc += f[0] + v[0]
				}
			}
		}
	}
	warmSink.Add(uint32(acc))
}

// Peek returns the live item of key at nowMs without touching LRU clocks or statistics.
func (s *Store) Peek(key []byte, nowMs int64, fn func(Item)) bool {
	e := s.find(key)
	if e == nil || expired(e, nowMs) {
		return false
	}
	fn(Item{e, s})
	return true
}
