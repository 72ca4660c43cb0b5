package wal

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// RaftLog is a durable raft storage: it satisfies membership.RaftStorage (raft.Storage plus the
// mutators of raft.MemoryStorage) and behaves exactly as a raft.MemoryStorage that survives restarts.
//
// Cache. An in-memory copy with MemoryStorage's layout answers every read: ents[0] is a dummy entry
// holding the (index, term) of the last compacted entry, ents[i] is the entry at ents[0].Index+i, plus
// the hard state and the latest snapshot. (MemoryStorage itself cannot be the cache: a log compacted
// past its snapshot, which MemoryStorage allows, cannot be rebuilt through its API on reload.)
//
// Layout under the namespace ns (see DB):
//
//	ns|'h'            hard state (raftpb.HardState, protobuf); absent = never set (nil)
//	ns|'s'            latest snapshot (raftpb.Snapshot, protobuf); absent = empty snapshot
//	ns|'d'            the dummy entry: be64(index)|be64(term); absent = (0, 0)
//	ns|'e'|be64(i)    entry i (raftpb.Entry, protobuf), for dummy.Index < i <= last index
//	ns|'p'            present only while an ApplySnapshot that did not fit one transaction is under way
//
// Invariants:
//   - Write-through: every mutator writes Badger first and updates the cache only once the write has
//     committed (fsynced when Options.SyncWrites), so when a call returns its effect is durable; when it
//     fails the cache is unchanged (the store may hold a prefix of the call's writes, see below).
//   - Reload (NewRaftLog on a reopened DB) yields exactly the cache as it was after the last call that
//     returned, or, after a crash during a call, the state before or after that call or one of the
//     prefix states below, each of which is a valid raft state.
//   - A call fits one transaction unless it touches more keys than Badger's limit (15% of
//     MemTableBytes); then it is split (batch), in an order that keeps every prefix valid:
//     Append deletes the replaced tail from the highest index down, then writes the new entries from
//     the lowest up, so the persisted log is always a contiguous prefix of the old or the new log (the
//     dropped entries conflicted with the leader's and were uncommitted; the new ones are not yet
//     acknowledged). Compact writes the new dummy first; entries at or below the dummy left by a crash
//     are ignored and deleted on reload. ApplySnapshot writes the purge marker 'p' with the snapshot and
//     dummy in its first transaction and deletes it last; reload finds the marker and finishes the purge
//     (entries of the old log must not survive past a newer snapshot).
//     Deletes are per key, not Badger's DropPrefix: DropPrefix blocks every writer of the shared DB and
//     flushes memtables, is not ordered with our other writes, and logs are small (compaction every
//     SnapshotEntries), so chunked transactions are cheaper and keep the crash order above.
//   - A RaftLog whose namespace holds nothing is a fresh MemoryStorage: empty InitialState, so the
//     replica bootstraps; one that holds a hard state is a restart.
//
// Differences from MemoryStorage: misuse that MemoryStorage answers with a panic (an Append leaving a
// gap, CreateSnapshot or Compact past the last index) returns an error wrapping ErrOutOfRange instead,
// before anything is written; CreateSnapshot below the compacted index returns raft.ErrCompacted.
// RaftLog is safe for concurrent use.
type RaftLog struct {
	db *DB
	ns []byte

	mu   sync.Mutex
	hard *raftpb.HardState
	snap *raftpb.Snapshot
	ents []*raftpb.Entry
}

// Sub-keys of a raft namespace.
const (
	raftHard    = 'h'
	raftSnap    = 's'
	raftDummy   = 'd'
	raftEntry   = 'e'
	raftPurging = 'p'
)

// RaftLog opens the raft log stored under prefix, reloading what it holds.
func (db *DB) RaftLog(prefix string) (*RaftLog, error) {
	ns, err := db.claim(kindRaft, prefix)
	if err != nil {
		return nil, err
	}
	r := &RaftLog{db: db, ns: ns}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RaftLog) key(sub byte) []byte { return key(r.ns, []byte{sub}) }

func (r *RaftLog) entryKey(i uint64) []byte { return key(r.ns, []byte{raftEntry}, be64(i)) }

// load rebuilds the cache from the store, first finishing an interrupted ApplySnapshot and deleting
// entries left at or below the dummy by an interrupted Compact.
func (r *RaftLog) load() error {
	var purging bool
	err := r.db.view(func(txn *badger.Txn) error {
		_, ok, err := getValue(txn, r.key(raftPurging))
		purging = ok
		return err
	})
	if err != nil {
		return err
	}
	if purging {
		if err := r.purge(); err != nil {
			return err
		}
	}
	r.snap = raftpb.EnsureSnapshot(nil)
	var stale [][]byte
	dummy := &raftpb.Entry{Index: new(uint64(0)), Term: new(uint64(0))}
	var ents []*raftpb.Entry
	err = r.db.view(func(txn *badger.Txn) error {
		if v, ok, err := getValue(txn, r.key(raftHard)); err != nil {
			return err
		} else if ok {
			hs := &raftpb.HardState{}
			if err := proto.Unmarshal(v, hs); err != nil {
				return fmt.Errorf("%w: hard state: %w", ErrCorrupt, err)
			}
			r.hard = hs
		}
		if v, ok, err := getValue(txn, r.key(raftSnap)); err != nil {
			return err
		} else if ok {
			s := &raftpb.Snapshot{}
			if err := proto.Unmarshal(v, s); err != nil {
				return fmt.Errorf("%w: snapshot: %w", ErrCorrupt, err)
			}
			r.snap = raftpb.EnsureSnapshot(s)
		}
		if v, ok, err := getValue(txn, r.key(raftDummy)); err != nil {
			return err
		} else if ok {
			if len(v) != 16 {
				return fmt.Errorf("%w: dummy entry of %d bytes", ErrCorrupt, len(v))
			}
			dummy = &raftpb.Entry{Index: new(binary.BigEndian.Uint64(v)), Term: new(binary.BigEndian.Uint64(v[8:]))}
		}
		next := dummy.GetIndex() + 1
		prefix := key(r.ns, []byte{raftEntry})
		return scanKeys(txn, prefix, true, func(k []byte, item *badger.Item) error {
			if len(k) != len(prefix)+8 {
				return fmt.Errorf("%w: entry key of %d bytes", ErrCorrupt, len(k))
			}
			i := binary.BigEndian.Uint64(k[len(prefix):])
			if i <= dummy.GetIndex() {
				stale = append(stale, append([]byte(nil), k...))
				return nil
			}
			if i != next {
				return fmt.Errorf("%w: entry %d follows %d", ErrCorrupt, i, next-1)
			}
			e := &raftpb.Entry{}
			if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, e) }); err != nil {
				return fmt.Errorf("%w: entry %d: %w", ErrCorrupt, i, err)
			}
			if e.GetIndex() != i {
				return fmt.Errorf("%w: entry %d stored under index %d", ErrCorrupt, e.GetIndex(), i)
			}
			ents = append(ents, e)
			next++
			return nil
		})
	})
	if err != nil {
		return err
	}
	r.ents = append([]*raftpb.Entry{dummy}, ents...)
	if len(stale) > 0 {
		return r.db.write(func(b *batch) error {
			for _, k := range stale {
				if err := b.del(k); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return nil
}

// purge finishes an interrupted ApplySnapshot: it deletes every entry, then the marker.
func (r *RaftLog) purge() error {
	var keys [][]byte
	err := r.db.view(func(txn *badger.Txn) error {
		return scanKeys(txn, key(r.ns, []byte{raftEntry}), false, func(k []byte, _ *badger.Item) error {
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
	})
	if err != nil {
		return err
	}
	return r.db.write(func(b *batch) error {
		for _, k := range keys {
			if err := b.del(k); err != nil {
				return err
			}
		}
		return b.del(r.key(raftPurging))
	})
}

// InitialState implements raft.Storage.
func (r *RaftLog) InitialState() (*raftpb.HardState, *raftpb.ConfState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := raftpb.EnsureConfState(proto.Clone(raftpb.EnsureConfState(r.snap.GetMetadata().GetConfState())).(*raftpb.ConfState))
	if r.hard == nil {
		return nil, cs, nil
	}
	return proto.Clone(r.hard).(*raftpb.HardState), cs, nil
}

// Entries implements raft.Storage.
func (r *RaftLog) Entries(lo, hi, maxSize uint64) ([]*raftpb.Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	offset := r.ents[0].GetIndex()
	if lo <= offset {
		return nil, raft.ErrCompacted
	}
	if hi > r.lastIndex()+1 {
		panic(fmt.Sprintf("wal: entries' hi(%d) is out of bound lastindex(%d)", hi, r.lastIndex()))
	}
	if len(r.ents) == 1 {
		return nil, raft.ErrUnavailable
	}
	ents := limitSize(r.ents[lo-offset:hi-offset], maxSize)
	return ents[:len(ents):len(ents)], nil
}

// limitSize is raft's: at least one entry, then as many as fit maxSize bytes of encoding.
func limitSize(ents []*raftpb.Entry, maxSize uint64) []*raftpb.Entry {
	if len(ents) == 0 {
		return ents
	}
	size := uint64(proto.Size(ents[0]))
	for limit := 1; limit < len(ents); limit++ {
		size += uint64(proto.Size(ents[limit]))
		if size > maxSize {
			return ents[:limit]
		}
	}
	return ents
}

// Term implements raft.Storage.
func (r *RaftLog) Term(i uint64) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	offset := r.ents[0].GetIndex()
	if i < offset {
		return 0, raft.ErrCompacted
	}
	if i-offset >= uint64(len(r.ents)) {
		return 0, raft.ErrUnavailable
	}
	return r.ents[i-offset].GetTerm(), nil
}

// LastIndex implements raft.Storage.
func (r *RaftLog) LastIndex() (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastIndex(), nil
}

func (r *RaftLog) lastIndex() uint64 { return r.ents[0].GetIndex() + uint64(len(r.ents)) - 1 }

// FirstIndex implements raft.Storage.
func (r *RaftLog) FirstIndex() (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ents[0].GetIndex() + 1, nil
}

// Snapshot implements raft.Storage.
func (r *RaftLog) Snapshot() (*raftpb.Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return proto.Clone(r.snap).(*raftpb.Snapshot), nil
}

// SetHardState durably saves the hard state (nil clears it).
func (r *RaftLog) SetHardState(st *raftpb.HardState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var v []byte
	if st != nil {
		var err error
		if v, err = proto.Marshal(st); err != nil {
			return fmt.Errorf("%w: marshal hard state: %w", ErrCorrupt, err)
		}
	}
	err := r.db.write(func(b *batch) error {
		if st == nil {
			return b.del(r.key(raftHard))
		}
		return b.set(r.key(raftHard), v)
	})
	if err != nil {
		return err
	}
	if st == nil {
		r.hard = nil
	} else {
		r.hard = proto.Clone(st).(*raftpb.HardState)
	}
	return nil
}

// ApplySnapshot durably replaces the whole log with snap (MemoryStorage.ApplySnapshot): every entry is
// deleted and the dummy becomes (snapshot index, snapshot term).
func (r *RaftLog) ApplySnapshot(snap *raftpb.Snapshot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap = raftpb.EnsureSnapshot(proto.Clone(raftpb.EnsureSnapshot(snap)).(*raftpb.Snapshot))
	cur, idx := r.snap.GetMetadata().GetIndex(), snap.GetMetadata().GetIndex()
	if cur != 0 && cur >= idx {
		return raft.ErrSnapOutOfDate
	}
	v, err := proto.Marshal(snap)
	if err != nil {
		return fmt.Errorf("%w: marshal snapshot: %w", ErrCorrupt, err)
	}
	term := snap.GetMetadata().GetTerm()
	err = r.db.write(func(b *batch) error {
		if err := b.set(r.key(raftPurging), []byte{}); err != nil {
			return err
		}
		if err := b.set(r.key(raftSnap), v); err != nil {
			return err
		}
		if err := b.set(r.key(raftDummy), dummyValue(idx, term)); err != nil {
			return err
		}
		for _, e := range r.ents[1:] {
			if err := b.del(r.entryKey(e.GetIndex())); err != nil {
				return err
			}
		}
		return b.del(r.key(raftPurging))
	})
	if err != nil {
		return err
	}
	r.snap = snap
	r.ents = []*raftpb.Entry{{Index: new(idx), Term: new(term)}}
	return nil
}

func dummyValue(index, term uint64) []byte {
	return binary.BigEndian.AppendUint64(be64(index), term)
}

// CreateSnapshot durably records a snapshot at index i (MemoryStorage.CreateSnapshot); cs, when not
// nil, replaces the snapshot's ConfState. The log is unchanged (Compact follows).
func (r *RaftLog) CreateSnapshot(i uint64, cs *raftpb.ConfState, data []byte) (*raftpb.Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i <= r.snap.GetMetadata().GetIndex() {
		return nil, raft.ErrSnapOutOfDate
	}
	offset := r.ents[0].GetIndex()
	if i > r.lastIndex() {
		return nil, fmt.Errorf("%w: snapshot %d is out of bound lastindex(%d)", ErrOutOfRange, i, r.lastIndex())
	}
	if i < offset {
		return nil, raft.ErrCompacted
	}
	snap := proto.Clone(r.snap).(*raftpb.Snapshot)
	snap.Metadata.Index = new(i)
	snap.Metadata.Term = new(r.ents[i-offset].GetTerm())
	if cs != nil {
		snap.Metadata.ConfState = proto.Clone(cs).(*raftpb.ConfState)
	}
	snap.Data = data
	v, err := proto.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("%w: marshal snapshot: %w", ErrCorrupt, err)
	}
	if err := r.db.write(func(b *batch) error { return b.set(r.key(raftSnap), v) }); err != nil {
		return nil, err
	}
	r.snap = snap
	return proto.Clone(snap).(*raftpb.Snapshot), nil
}

// Compact durably discards the entries up to compactIndex (MemoryStorage.Compact); the entry at
// compactIndex becomes the dummy.
func (r *RaftLog) Compact(compactIndex uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	offset := r.ents[0].GetIndex()
	if compactIndex <= offset {
		return raft.ErrCompacted
	}
	if compactIndex > r.lastIndex() {
		return fmt.Errorf("%w: compact %d is out of bound lastindex(%d)", ErrOutOfRange, compactIndex, r.lastIndex())
	}
	i := compactIndex - offset
	term := r.ents[i].GetTerm()
	err := r.db.write(func(b *batch) error {
		if err := b.set(r.key(raftDummy), dummyValue(compactIndex, term)); err != nil {
			return err
		}
		for j := offset + 1; j <= compactIndex; j++ {
			if err := b.del(r.entryKey(j)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ents := make([]*raftpb.Entry, 1, uint64(len(r.ents))-i)
	ents[0] = &raftpb.Entry{Index: new(compactIndex), Term: new(term)}
	r.ents = append(ents, r.ents[i+1:]...)
	return nil
}

// Append durably appends entries (MemoryStorage.Append): entries at or below the compacted index are
// ignored, and entries at or below the last index replace the tail from their first index on (the old
// entries past the new last index are deleted). The entries must be consecutive and must not leave a
// gap after the last index. The slice's entries are kept by reference and must not be mutated.
func (r *RaftLog) Append(entries []*raftpb.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	for k := 1; k < len(entries); k++ {
		if entries[k].GetIndex() != entries[k-1].GetIndex()+1 {
			return fmt.Errorf("%w: entry %d follows %d", ErrOutOfRange, entries[k].GetIndex(), entries[k-1].GetIndex())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.ents[0].GetIndex() + 1
	last := entries[0].GetIndex() + uint64(len(entries)) - 1
	if last < first {
		return nil
	}
	if first > entries[0].GetIndex() {
		entries = entries[first-entries[0].GetIndex():]
	}
	offset := entries[0].GetIndex() - r.ents[0].GetIndex()
	if offset > uint64(len(r.ents)) {
		return fmt.Errorf("%w: missing log entry [last: %d, append at: %d]", ErrOutOfRange, r.lastIndex(), entries[0].GetIndex())
	}
	// Entries identical to the stored ones need not be rewritten (nor deleted first).
	k := 0
	for k < len(entries) && offset+uint64(k) < uint64(len(r.ents)) && proto.Equal(entries[k], r.ents[offset+uint64(k)]) {
		k++
	}
	from := entries[0].GetIndex() + uint64(k) // first index written
	oldLast := r.lastIndex()
	vals := make([][]byte, 0, len(entries)-k)
	for _, e := range entries[k:] {
		v, err := proto.Marshal(e)
		if err != nil {
			return fmt.Errorf("%w: marshal entry %d: %w", ErrCorrupt, e.GetIndex(), err)
		}
		vals = append(vals, v)
	}
	err := r.db.write(func(b *batch) error {
		// From the top down, so that a split write leaves a contiguous log (see RaftLog).
		for j := oldLast; j >= from; j-- {
			if err := b.del(r.entryKey(j)); err != nil {
				return err
			}
		}
		for n, v := range vals {
			if err := b.set(r.entryKey(from+uint64(n)), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.ents = append(r.ents[:offset:offset], entries...)
	return nil
}
