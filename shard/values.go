package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

/*
Persistence methods (the Isis2 manual's SetDHTPersistenceMethods(writerMethod, readerMethod)).

A Store configured with Config.Values keeps string values of at least Config.ValuesMinBytes outside its
own memory: the value goes to ValueStore.Write, which returns a handle, and the entry keeps only the
handle (entry.ref). Every read of such a value goes through ValueStore.Read(key, handle), including a
shard's export to a joiner (the manual: "state transfer will automatically use the readerMethod"),
which then writes it into its own ValueStore on import. The manual leaves deletion implicit; here the
store calls ValueStore.Delete when the value is overwritten, the key is deleted, renamed, expires or is
evicted, or the store is flushed or discarded, so nothing written stays behind.

Invariants:
  - e.ref implies e.kind == kindString and e.str is a handle returned by Values.Write(e.key, value)
    that was not deleted since;
  - an entry's size does not depend on its handle (refBytes is counted instead), so replicas whose
    ValueStores hand out different handles keep the same memory estimate, and the same evictions;
  - replies, digests and exports see the value, never the handle.

Failures: a Write error keeps the value in memory (counted in Stats.ValueWriteErrors; replies are the
same either way, so replicas do not diverge). A Read or Delete error means the store's data is gone
or unreachable, a broken invariant: the store panics with the error (a replica that lost data must
not answer; the node restarts and rejoins by state transfer).
*/

// ValueStore keeps string values outside a Store's memory (the manual's persistence methods).
// Implementations must be safe for concurrent use when several stores share them.
type ValueStore interface {
	// Write keeps value for key (the slice is only valid during the call) and returns the handle the
	// store keeps in its place.
	Write(key, value []byte) (handle []byte, err error)
	// Read returns the value written under handle. The store does not keep the result past its use.
	Read(key, handle []byte) ([]byte, error)
	// Delete forgets the value of handle; the store never reads it again.
	Delete(key, handle []byte) error
}

// refBytes is what an entry whose value lives in a ValueStore counts for its value in the memory
// estimate (independent of the handle's length: see the invariants above).
const refBytes = 16

// Errors of MemoryValues.
var (
	ErrNoValue = errors.New("shard: no value under this handle")
)

// MemoryValues is an in-memory ValueStore: it proves the indirection (and counts its traffic) for
// tests and embedders; a durable one (Badger, in wal/) keeps the same contract. Handles are 8-byte
// sequence numbers. The zero value is not usable: call NewMemoryValues.
type MemoryValues struct {
	mu    sync.Mutex
	next  uint64
	vals  map[uint64][]byte
	stats MemoryValuesStats
}

// MemoryValuesStats counts a MemoryValues' traffic.
type MemoryValuesStats struct {
	Writes, Reads, Deletes int64
	Live                   int   // values held
	LiveBytes              int64 // their total length
}

// NewMemoryValues returns an empty MemoryValues.
func NewMemoryValues() *MemoryValues { return &MemoryValues{vals: make(map[uint64][]byte)} }

// Write keeps a copy of value and returns its handle.
func (m *MemoryValues) Write(key, value []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	m.vals[m.next] = append([]byte(nil), value...)
	m.stats.Writes++
	m.stats.Live++
	m.stats.LiveBytes += int64(len(value))
	return binary.BigEndian.AppendUint64(nil, m.next), nil
}

func handleID(handle []byte) (uint64, error) {
	if len(handle) != 8 {
		return 0, fmt.Errorf("%w: handle of %d bytes", ErrNoValue, len(handle))
	}
	return binary.BigEndian.Uint64(handle), nil
}

// Read returns the value of handle.
func (m *MemoryValues) Read(key, handle []byte) ([]byte, error) {
	id, err := handleID(handle)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d (key %q)", ErrNoValue, id, key)
	}
	m.stats.Reads++
	return v, nil
}

// Delete forgets the value of handle.
func (m *MemoryValues) Delete(key, handle []byte) error {
	id, err := handleID(handle)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[id]
	if !ok {
		return fmt.Errorf("%w: %d (key %q)", ErrNoValue, id, key)
	}
	delete(m.vals, id)
	m.stats.Deletes++
	m.stats.Live--
	m.stats.LiveBytes -= int64(len(v))
	return nil
}

// Stats returns the counters.
func (m *MemoryValues) Stats() MemoryValuesStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// strOf returns e's string value, reading it from the ValueStore when the entry holds a handle. The
// result must not be kept or modified.
func (s *Store) strOf(e *entry) []byte {
	if !e.ref {
		return e.str
	}
	v, err := s.cfg.Values.Read([]byte(e.key), e.str)
	if err != nil {
		panic(fmt.Errorf("shard: value of %q lost from its value store: %w", e.key, err))
	}
	return v
}

// unref brings e's value back into memory and deletes it from the ValueStore (before an in-place
// change or a rename); changed or add writes it out again.
func (s *Store) unref(e *entry) {
	if !e.ref {
		return
	}
	v := append([]byte(nil), s.strOf(e)...)
	s.dropRef(e)
	e.str = v
}

// dropRef deletes e's value from the ValueStore (the entry is going away or gets a new value).
func (s *Store) dropRef(e *entry) {
	if !e.ref {
		return
	}
	if err := s.cfg.Values.Delete([]byte(e.key), e.str); err != nil {
		panic(fmt.Errorf("shard: value of %q lost from its value store: %w", e.key, err))
	}
	e.ref, e.str = false, nil
}

// persist moves e's string value to the ValueStore when one is configured and the value is long
// enough. A refused write leaves the value in memory.
func (s *Store) persist(e *entry) {
	if s.cfg.Values == nil || e.ref || e.kind != kindString || len(e.str) < s.cfg.ValuesMinBytes {
		return
	}
	h, err := s.cfg.Values.Write([]byte(e.key), e.str)
	if err != nil {
		s.stats.ValueWriteErrors++
		return
	}
	e.str, e.ref = h, true
}

// Discard releases what the store keeps outside its memory (its ValueStore values) and empties it;
// call it when a store is dropped for good (a replica that starts over), or its values leak.
func (s *Store) Discard() { s.flush() }
