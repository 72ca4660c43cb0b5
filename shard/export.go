package shard

import "strconv"

// ImportNowMs is the time at which exported commands are executed to rebuild a slice (ExportSlot).
const ImportNowMs = 0

// ExportSlot calls emit with commands that rebuild every live key of slot (at nowMs) in an empty
// store: SET (with PXAT for a key with a TTL) for a string, HSET in field order then PEXPIREAT for a
// hash. Keys come in byte order. emit must not keep the argument slices past its return unless it
// copies them (they alias the store's data). This is how a shard's slice moves to a joiner: the donor
// exports at a consistent cut, and the joiner Execs the commands at nowMs 0 (ImportNowMs), so that no
// deadline counts as already passed (Redis's PEXPIREAT deletes a key whose deadline is not in the
// future, while a key whose deadline equals the cut's time is still live here).
func (s *Store) ExportSlot(slot uint16, nowMs int64, emit func(cmd [][]byte)) {
	for _, e := range s.sortedSlotEntries(slot % SlotCount) {
		if !expired(e, nowMs) {
			s.exportEntry(e, emit)
		}
	}
}

// ExportKey is ExportSlot for one key: it calls emit with the commands that rebuild key (nothing if
// the key does not exist or is expired at nowMs), and reports whether it did.
func (s *Store) ExportKey(key []byte, nowMs int64, emit func(cmd [][]byte)) bool {
	e := s.find(key)
	if e == nil || expired(e, nowMs) {
		return false
	}
	s.exportEntry(e, emit)
	return true
}

// exportEntry emits the commands that rebuild entry e (ExportSlot).
func (s *Store) exportEntry(e *entry, emit func(cmd [][]byte)) {
	key := []byte(e.key)
	switch e.kind {
	case kindString:
		v := s.strOf(e) // through the ValueStore's reader when the value lives there
		if e.expireMs != 0 {
			emit([][]byte{[]byte("set"), key, v, []byte("pxat"), strconv.AppendInt(nil, e.expireMs, 10)})
		} else {
			emit([][]byte{[]byte("set"), key, v})
		}
	case kindHash:
		cmd := make([][]byte, 0, 2+2*e.hash.len())
		cmd = append(cmd, []byte("hset"), key)
		for f, v := range e.hash.all() {
			cmd = append(cmd, f, v)
		}
		emit(cmd)
		if e.expireMs != 0 {
			emit([][]byte{[]byte("pexpireat"), key, strconv.AppendInt(nil, e.expireMs, 10)})
		}
	}
}

// NextSlot returns the first slot ≥ from that holds a key (live or not yet reclaimed), or -1: a walk
// over a store's slots (ExportSlot) skips the empty ones with it.
func (s *Store) NextSlot(from int) int {
	if from < 0 {
		from = 0
	}
	return nextOccupied(&s.occupied, from)
}
