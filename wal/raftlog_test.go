package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// testOptions are small options: a 1 MiB memtable makes Badger's transaction limit (~157 KB) small
// enough that the property tests split writes across transactions.
func testOptions() Options {
	o := DefaultOptions()
	o.MemTableBytes = 1 * mib
	o.BlockCacheBytes = 0
	o.ValueLogFileBytes = 4 * mib
	return o
}

func openDB(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// raftPair is a RaftLog and its model.
type raftPair struct {
	prefix string
	log    *RaftLog
	model  *raft.MemoryStorage
}

// raftGen generates random storage operations valid for the model's current state.
type raftGen struct {
	rnd *rand.Rand
}

func (g raftGen) entries(m *raft.MemoryStorage) []*raftpb.Entry {
	first, _ := m.FirstIndex()
	last, _ := m.LastIndex()
	lo := max(int64(first)-2, 1)
	start := uint64(lo + g.rnd.Int63n(int64(last)+2-lo))
	n := 1 + g.rnd.Intn(5)
	if g.rnd.Intn(8) == 0 {
		n = 50 + g.rnd.Intn(150) // with large payloads below: several transactions
	}
	big := g.rnd.Intn(4) == 0
	var out []*raftpb.Entry
	for i := range n {
		idx := start + uint64(i)
		if idx >= first && idx <= last && g.rnd.Intn(3) == 0 {
			ents, err := m.Entries(idx, idx+1, math.MaxUint64)
			if err == nil {
				out = append(out, proto.Clone(ents[0]).(*raftpb.Entry)) // identical to the stored one
				continue
			}
		}
		data := make([]byte, g.rnd.Intn(20))
		if big {
			data = make([]byte, 1000+g.rnd.Intn(3000))
		}
		g.rnd.Read(data)
		typ := raftpb.EntryType_EntryNormal
		if g.rnd.Intn(10) == 0 {
			typ = raftpb.EntryType_EntryConfChange
		}
		out = append(out, &raftpb.Entry{Index: new(idx), Term: new(uint64(1 + g.rnd.Intn(6))), Type: typ.Enum(), Data: data})
	}
	return out
}

func (g raftGen) confState() *raftpb.ConfState {
	cs := &raftpb.ConfState{}
	for id := uint64(1); id <= uint64(1+g.rnd.Intn(5)); id++ {
		cs.Voters = append(cs.Voters, id)
	}
	if g.rnd.Intn(3) == 0 {
		cs.Learners = []uint64{9}
	}
	return raftpb.EnsureConfState(cs)
}

// step applies one random operation to both and describes it.
func (g raftGen) step(t *testing.T, p *raftPair) string {
	m := p.model
	first, _ := m.FirstIndex()
	last, _ := m.LastIndex()
	snap, _ := m.Snapshot()
	snapIdx := snap.GetMetadata().GetIndex()
	var errM, errL error
	var desc string
	switch op := g.rnd.Intn(10); {
	case op < 5:
		ents := g.entries(m)
		desc = fmt.Sprintf("Append(%d entries from %d)", len(ents), ents[0].GetIndex())
		errM, errL = m.Append(ents), p.log.Append(ents)
	case op < 6:
		hs := &raftpb.HardState{Term: new(uint64(g.rnd.Intn(9))), Vote: new(uint64(g.rnd.Intn(4))), Commit: new(uint64(g.rnd.Intn(int(last) + 1)))}
		desc = fmt.Sprintf("SetHardState(%v)", hs)
		errM, errL = m.SetHardState(hs), p.log.SetHardState(proto.Clone(hs).(*raftpb.HardState))
	case op < 8:
		// CreateSnapshot at i, then Compact at j <= i (or, rarely, past the snapshot).
		lo := max(snapIdx+1, first)
		if lo > last {
			return "noop"
		}
		i := lo + uint64(g.rnd.Int63n(int64(last-lo+1)))
		cs := g.confState()
		data := []byte(fmt.Sprintf("state@%d", i))
		if g.rnd.Intn(5) == 0 {
			cs = nil
		}
		s1, e1 := m.CreateSnapshot(i, cs, data)
		s2, e2 := p.log.CreateSnapshot(i, cs, data)
		if e1 != nil || e2 != nil || !proto.Equal(s1, s2) {
			t.Fatalf("CreateSnapshot(%d): model %v %v, log %v %v", i, s1, e1, s2, e2)
		}
		j := first + uint64(g.rnd.Int63n(int64(i-first+1)))
		if g.rnd.Intn(6) == 0 {
			j = first + uint64(g.rnd.Int63n(int64(last-first+1)))
		}
		desc = fmt.Sprintf("CreateSnapshot(%d)+Compact(%d)", i, j)
		errM, errL = m.Compact(j), p.log.Compact(j)
	case op < 9:
		// A snapshot from a leader: newer than ours, possibly past our log; rarely an outdated one.
		idx := snapIdx + 1 + uint64(g.rnd.Intn(max(int(last)-int(snapIdx), 0)+10))
		if snapIdx > 0 && g.rnd.Intn(5) == 0 {
			idx = snapIdx - uint64(g.rnd.Intn(int(snapIdx)))
		}
		s := &raftpb.Snapshot{Data: []byte(fmt.Sprintf("leader@%d", idx)), Metadata: &raftpb.SnapshotMetadata{
			Index: new(idx), Term: new(uint64(1 + g.rnd.Intn(6))), ConfState: g.confState()}}
		desc = fmt.Sprintf("ApplySnapshot(%d)", idx)
		errM, errL = m.ApplySnapshot(proto.Clone(s).(*raftpb.Snapshot)), p.log.ApplySnapshot(s)
	default:
		// Compacted or duplicate appends and compactions: errors must match.
		if first > 1 {
			desc = fmt.Sprintf("Compact(%d) (compacted)", first-1)
			errM, errL = m.Compact(first-1), p.log.Compact(first-1)
		} else {
			desc = "Append(nil)"
			errM, errL = m.Append(nil), p.log.Append(nil)
		}
	}
	if !errors.Is(errL, errM) || (errM == nil) != (errL == nil) {
		t.Fatalf("%s: model error %v, log error %v", desc, errM, errL)
	}
	return desc
}

// compareRaft fails unless log and model answer every read alike.
func compareRaft(t *testing.T, rnd *rand.Rand, log *RaftLog, m *raft.MemoryStorage) {
	t.Helper()
	hs1, cs1, _ := m.InitialState()
	hs2, cs2, err := log.InitialState()
	if err != nil || (hs1 == nil) != (hs2 == nil) || !proto.Equal(hs1, hs2) || !proto.Equal(cs1, cs2) {
		t.Fatalf("InitialState: model %v %v, log %v %v %v", hs1, cs1, hs2, cs2, err)
	}
	f1, _ := m.FirstIndex()
	f2, _ := log.FirstIndex()
	l1, _ := m.LastIndex()
	l2, _ := log.LastIndex()
	if f1 != f2 || l1 != l2 {
		t.Fatalf("First/LastIndex: model %d %d, log %d %d", f1, l1, f2, l2)
	}
	for i := max(f1, 2) - 2; i <= l1+1; i++ {
		t1, e1 := m.Term(i)
		t2, e2 := log.Term(i)
		if t1 != t2 || !errors.Is(e2, e1) || (e1 == nil) != (e2 == nil) {
			t.Fatalf("Term(%d): model %d %v, log %d %v", i, t1, e1, t2, e2)
		}
	}
	for range 5 {
		lo := max(f1, 2) - 1 + uint64(rnd.Int63n(int64(l1-max(f1, 2)+3)))
		if lo > l1+1 {
			lo = l1 + 1
		}
		hi := lo + uint64(rnd.Int63n(int64(l1+2-lo)))
		maxSize := []uint64{0, 30, 200, math.MaxUint64}[rnd.Intn(4)]
		x1, e1 := m.Entries(lo, hi, maxSize)
		x2, e2 := log.Entries(lo, hi, maxSize)
		if !errors.Is(e2, e1) || (e1 == nil) != (e2 == nil) || len(x1) != len(x2) {
			t.Fatalf("Entries(%d, %d, %d): model %d %v, log %d %v", lo, hi, maxSize, len(x1), e1, len(x2), e2)
		}
		for i := range x1 {
			if !proto.Equal(x1[i], x2[i]) {
				t.Fatalf("Entries(%d, %d, %d)[%d]: model %v, log %v", lo, hi, maxSize, i, x1[i], x2[i])
			}
		}
	}
	s1, _ := m.Snapshot()
	s2, err := log.Snapshot()
	if err != nil || !proto.Equal(s1, s2) {
		t.Fatalf("Snapshot: model %v, log %v %v", s1, s2, err)
	}
}

// TestRaftLogMatchesMemoryStorage runs seeded random operation sequences on two RaftLogs sharing one
// DB (prefixes "m" and "m1") and on two MemoryStorages, comparing every read after each operation and
// after each Close and reopen.
func TestRaftLogMatchesMemoryStorage(t *testing.T) {
	runSeededLogModel(t, 12, 150, 30, func(t *testing.T, rnd *rand.Rand) logModelRun {
		pairs := []*raftPair{{prefix: "m", model: raft.NewMemoryStorage()}, {prefix: "m1", model: raft.NewMemoryStorage()}}
		g := raftGen{rnd: rnd}
		return logModelRun{
			open: func(db *DB) {
				for _, p := range pairs {
					var err error
					if p.log, err = db.RaftLog(p.prefix); err != nil {
						t.Fatalf("reopen %s: %v", p.prefix, err)
					}
				}
			},
			step: func(note func(string)) {
				p := pairs[rnd.Intn(len(pairs))]
				note(p.prefix + ": " + g.step(t, p))
				compareRaft(t, rnd, p.log, p.model)
			},
			checkAll: func() {
				for _, p := range pairs {
					compareRaft(t, rnd, p.log, p.model)
				}
			},
		}
	})
}

// TestRaftLogFresh: an empty namespace is a fresh MemoryStorage.
func TestRaftLogFresh(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	log, err := db.RaftLog("x")
	if err != nil {
		t.Fatal(err)
	}
	hs, cs, err := log.InitialState()
	if err != nil || !raft.IsEmptyHardState(hs) || len(cs.GetVoters()) != 0 {
		t.Fatalf("InitialState = %v %v %v", hs, cs, err)
	}
	snap, _ := log.Snapshot()
	if !raft.IsEmptySnap(snap) {
		t.Fatalf("Snapshot = %v", snap)
	}
	compareRaft(t, rand.New(rand.NewSource(1)), log, raft.NewMemoryStorage())
}

// TestRaftLogRepairsInterruptedWrites plants what a crash in a split ApplySnapshot or Compact leaves
// and checks that reload repairs it.
func TestRaftLogRepairsInterruptedWrites(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	log, err := db.RaftLog("r")
	if err != nil {
		t.Fatal(err)
	}
	model := raft.NewMemoryStorage()
	var ents []*raftpb.Entry
	for i := uint64(1); i <= 30; i++ {
		ents = append(ents, &raftpb.Entry{Index: new(i), Term: new(uint64(1)), Data: []byte{byte(i)}})
	}
	for _, s := range []interface{ Append([]*raftpb.Entry) error }{log, model} {
		if err := s.Append(ents); err != nil {
			t.Fatal(err)
		}
	}
	// A Compact(4) cut after its first transaction: the dummy says 4, entries 1..4 remain.
	if err := db.write(func(b *batch) error { return b.set(log.key(raftDummy), dummyValue(4, 1)) }); err != nil {
		t.Fatal(err)
	}
	if err := model.Compact(4); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir)
	if log, err = db.RaftLog("r"); err != nil {
		t.Fatal(err)
	}
	compareRaft(t, rand.New(rand.NewSource(1)), log, model)
	stale := 0
	_ = db.view(func(txn *badger.Txn) error {
		return scanKeys(txn, key(log.ns, []byte{raftEntry}), false, func(k []byte, _ *badger.Item) error {
			if bytes.Compare(k, log.entryKey(4)) <= 0 {
				stale++
			}
			return nil
		})
	})
	if stale != 0 {
		t.Fatalf("%d entries at or below the dummy survived reload", stale)
	}
	// An ApplySnapshot(20) cut after its first transaction: marker, snapshot and dummy written, old
	// entries 5..30 still there (21..30 would pass for a log after the snapshot without the marker).
	snap := &raftpb.Snapshot{Data: []byte("s"), Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(20)), Term: new(uint64(3)),
		ConfState: raftpb.EnsureConfState(&raftpb.ConfState{Voters: []uint64{1}})}}
	v, _ := proto.Marshal(snap)
	err = db.write(func(b *batch) error {
		if err := b.set(log.key(raftPurging), []byte{}); err != nil {
			return err
		}
		if err := b.set(log.key(raftSnap), v); err != nil {
			return err
		}
		return b.set(log.key(raftDummy), dummyValue(20, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := model.ApplySnapshot(snap); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir)
	defer db.Close()
	if log, err = db.RaftLog("r"); err != nil {
		t.Fatal(err)
	}
	compareRaft(t, rand.New(rand.NewSource(1)), log, model)
}

// TestRaftLogLargeSnapshot: a snapshot far above the transaction limit goes to Badger's value log and
// reloads intact.
func TestRaftLogLargeSnapshot(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	log, err := db.RaftLog("r")
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3*mib)
	rand.New(rand.NewSource(1)).Read(data)
	snap := &raftpb.Snapshot{Data: data, Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(5)), Term: new(uint64(2)),
		ConfState: raftpb.EnsureConfState(&raftpb.ConfState{Voters: []uint64{1, 2, 3}})}}
	if err := log.ApplySnapshot(snap); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir)
	defer db.Close()
	if log, err = db.RaftLog("r"); err != nil {
		t.Fatal(err)
	}
	got, _ := log.Snapshot()
	if !proto.Equal(got, snap) {
		t.Fatalf("reloaded snapshot differs (%d data bytes)", len(got.GetData()))
	}
}
