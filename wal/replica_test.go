package wal

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"

	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/membership"
)

// runReplica ticks a single replica (persisting through its Ready) until it leads, then sends it
// requests for each member, ticking after each.
func runReplica(t *testing.T, r *membership.Replica, members []string) {
	t.Helper()
	for i := 0; !r.IsLeader(); i++ {
		if i == 20 {
			t.Fatal("a single replica did not become leader")
		}
		r.Tick()
		r.Ready()
	}
	for _, m := range members {
		r.Step(vsync.Message{Kind: vsync.MsgOracleRequest, From: m, Req: &vsync.OracleRequest{Op: vsync.OpJoin, Group: "g"}})
		r.Tick()
		r.Ready()
	}
	r.Tick()
	r.Ready()
}

func mapJSON(t *testing.T, r *membership.Replica) string {
	t.Helper()
	b, err := json.Marshal(r.Map())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplicaRestartsFromRaftLog drives a real membership replica on a RaftLog, closes the DB, reopens
// it and restarts the replica: it must not bootstrap again (raft would panic) and must rebuild the same
// map, then keep working. SnapshotEntries is small, so the log is snapshotted and compacted on the way.
func TestReplicaRestartsFromRaftLog(t *testing.T) {
	dir := t.TempDir()
	var st *RaftLog
	newReplica := func(db *DB, seed int64) *membership.Replica {
		var err error
		st, err = db.RaftLog("membership")
		if err != nil {
			t.Fatal(err)
		}
		r, err := membership.NewReplica(membership.Config{ID: 1, Addrs: []string{"a"}, Storage: st,
			Rand: rand.New(rand.NewSource(seed)), SnapshotEntries: 4})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	db := openDB(t, dir)
	r := newReplica(db, 1)
	var members []string
	for i := range 7 {
		members = append(members, fmt.Sprintf("n%d#1", i))
	}
	runReplica(t, r, members)
	before := mapJSON(t, r)
	if g := r.Map().Groups["g"]; g == nil {
		t.Fatalf("no join committed: %s", before)
	}
	if snap, _ := st.Snapshot(); snap.GetMetadata().GetIndex() == 0 {
		t.Fatal("the replica never snapshotted its log")
	}
	if first, _ := st.FirstIndex(); first < 2 {
		t.Fatal("the replica never compacted its log")
	}
	t.Logf("map before restart: %s", before)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for restart := int64(2); restart <= 3; restart++ {
		db = openDB(t, dir)
		log, _ := db.RaftLog("probe")
		if hs, _, _ := log.InitialState(); hs != nil {
			t.Fatal("an unused prefix has a hard state")
		}
		r = newReplica(db, restart)
		r.Ready() // applies the committed entries after the snapshot
		if got := mapJSON(t, r); got != before {
			t.Fatalf("restart %d: map\n%s\nwant\n%s", restart, got, before)
		}
		// It keeps working: a new member joins.
		m := fmt.Sprintf("n%d#1", 10+restart)
		runReplica(t, r, []string{m})
		after := mapJSON(t, r)
		if after == before {
			t.Fatalf("restart %d: join of %s not applied", restart, m)
		}
		before = after
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
