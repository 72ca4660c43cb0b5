package membership

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/vsdb/vsdb/vsync"
)

// loop runs replicas with a perfect one-tick network and returns what members received.
type loop struct {
	reps    []*Replica
	storage []*raft.MemoryStorage
	down    map[int]bool
	inbox   []vsync.Message
	raftQ   []RaftMessage
	drop    func(RaftMessage) bool // if set, messages it returns true for are lost
}

func newLoop(t *testing.T, n int) *loop { return newLoopWith(t, n, 0) }

func newLoopWith(t *testing.T, n int, snapshotEntries uint64) *loop {
	l := &loop{down: map[int]bool{}}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = string(rune('a' + i))
	}
	for i := 0; i < n; i++ {
		st := raft.NewMemoryStorage()
		r, err := NewReplica(Config{ID: uint64(i + 1), Addrs: addrs, Storage: st, Rand: rand.New(rand.NewSource(int64(i))),
			SnapshotEntries: snapshotEntries})
		if err != nil {
			t.Fatal(err)
		}
		l.reps = append(l.reps, r)
		l.storage = append(l.storage, st)
	}
	return l
}

func (l *loop) step(t *testing.T) {
	q := l.raftQ
	l.raftQ = nil
	for _, m := range q {
		i := int(m.To[0] - 'a')
		if l.drop != nil && l.drop(m) {
			continue
		}
		if !l.down[i] {
			l.reps[i].StepRaft(m.Msg)
		}
	}
	for i, r := range l.reps {
		if l.down[i] {
			continue
		}
		r.Tick()
		rd := r.Ready()
		l.raftQ = append(l.raftQ, rd.Raft...)
		l.inbox = append(l.inbox, rd.Members...)
	}
}

func (l *loop) leader() int {
	for i, r := range l.reps {
		if !l.down[i] && r.IsLeader() {
			return i
		}
	}
	return -1
}

func (l *loop) request(i int, op vsync.OracleOp, member string) {
	l.reps[i].Step(vsync.Message{Kind: vsync.MsgOracleRequest, From: member, Req: &vsync.OracleRequest{Op: op, Group: "g"}})
}

func TestSingleReplicaBootstrapsAlone(t *testing.T) {
	l := newLoop(t, 1)
	for i := 0; i < 3 && l.leader() < 0; i++ {
		l.step(t)
	}
	if l.leader() != 0 {
		t.Fatal("a single replica did not lead at once")
	}
	l.request(0, vsync.OpJoin, "n1#1")
	for i := 0; i < 3; i++ {
		l.step(t)
	}
	g := l.reps[0].Map().Groups["g"]
	if g == nil || g.Record.View.ID != 1 || g.Record.View.Members[0] != "n1#1" {
		t.Fatalf("join not committed: %+v", g)
	}
	if len(l.inbox) == 0 || l.inbox[len(l.inbox)-1].Record.View.ID != 1 {
		t.Fatalf("member not notified: %+v", l.inbox)
	}
}

func TestThreeReplicasFailOverAndRestart(t *testing.T) {
	l := newLoop(t, 3)
	for i := 0; i < 100 && l.leader() < 0; i++ {
		l.step(t)
	}
	ld := l.leader()
	if ld < 0 {
		t.Fatal("no leader elected")
	}
	l.request(ld, vsync.OpJoin, "n1#1")
	for i := 0; i < 10; i++ {
		l.step(t)
	}
	// The leader crashes; the others elect a new one, which commits the next request (a member resends
	// its request to every replica until it sees it applied).
	l.down[ld] = true
	applied := func() bool {
		for i, r := range l.reps {
			if l.down[i] {
				continue
			}
			g := r.Map().Groups["g"]
			if g == nil || g.Record.Change == nil || len(g.Record.Change.Next) != 2 {
				return false
			}
		}
		return true
	}
	for i := 0; i < 300 && !applied(); i++ {
		for j := range l.reps {
			if !l.down[j] {
				l.request(j, vsync.OpJoin, "n2#1")
			}
		}
		l.step(t)
	}
	if !applied() {
		t.Fatal("the join of n2#1 was not committed after the leader crashed")
	}
	if ld2 := l.leader(); ld2 == ld || ld2 < 0 {
		t.Fatalf("leader after the crash = %d (crashed %d)", ld2, ld)
	}
	// The crashed replica restarts from its storage and catches up.
	r, err := NewReplica(Config{ID: uint64(ld + 1), Addrs: []string{"a", "b", "c"}, Storage: l.storage[ld], Rand: rand.New(rand.NewSource(9))})
	if err != nil {
		t.Fatal(err)
	}
	l.reps[ld] = r
	l.down[ld] = false
	for i := 0; i < 50; i++ {
		l.step(t)
	}
	rec := l.reps[ld].Map().Groups["g"].Record
	if rec.Change == nil || len(rec.Change.Next) != 2 {
		t.Fatalf("restarted replica did not catch up: %+v", rec)
	}
}

func TestReplicaConfig(t *testing.T) {
	if _, err := NewReplica(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	if _, err := NewReplica(Config{ID: 7, Addrs: []string{"a"}, Rand: rand.New(rand.NewSource(1))}); err == nil {
		t.Fatal("ID out of range accepted")
	}
}

// TestLostSnapshotIsResent: a follower that was down while the leader compacted its log needs a
// snapshot; the first one is lost on the way. The leader must send it again (it reports every snapshot
// as sent, so a lost one is found by the follower's rejection of the next append), and the follower
// catches up without a leader change.
func TestLostSnapshotIsResent(t *testing.T) {
	l := newLoopWith(t, 3, 5)
	for i := 0; i < 100 && l.leader() < 0; i++ {
		l.step(t)
	}
	ld := l.leader()
	if ld < 0 {
		t.Fatal("no leader elected")
	}
	follower := (ld + 1) % 3
	l.down[follower] = true
	for k := 0; k < 20; k++ {
		l.request(ld, vsync.OpJoin, fmt.Sprintf("n%d#1", k))
		for i := 0; i < 3; i++ {
			l.step(t)
		}
	}
	if first, _ := l.storage[ld].FirstIndex(); first < 5 {
		t.Fatalf("the leader did not compact its log (first index %d)", first)
	}
	snaps, dropped := 0, false
	l.drop = func(m RaftMessage) bool {
		if m.Msg.GetType() != raftpb.MessageType_MsgSnap {
			return false
		}
		snaps++
		if !dropped {
			dropped = true
			return true
		}
		return false
	}
	l.down[follower] = false
	caughtUp := func() bool {
		a, b := l.reps[ld].Map().Groups["g"], l.reps[follower].Map().Groups["g"]
		return a != nil && b != nil && reflect.DeepEqual(a.Record, b.Record)
	}
	for i := 0; i < 500 && !caughtUp(); i++ {
		l.step(t)
	}
	if !caughtUp() {
		t.Fatalf("the follower did not catch up after a lost snapshot (%d snapshots sent)", snaps)
	}
	if snaps < 2 {
		t.Fatalf("%d snapshots sent, want the lost one and a second", snaps)
	}
	if l.leader() != ld {
		t.Fatalf("the leader changed (%d → %d): the catch-up should not need it", ld, l.leader())
	}
}

// TestNoLeaseRenewalWhileRemovalPending: once the leader proposed the removal of a member whose lease
// ran out, that member's syncs get no answer (no renewed lease) until the removal is applied; the
// next thing it hears is a record without it. (A member whose lease ran out is only isolated: a
// renewal in between would let it serve local reads just before a view without it exists.)
func TestNoLeaseRenewalWhileRemovalPending(t *testing.T) {
	st := raft.NewMemoryStorage()
	r, err := NewReplica(Config{ID: 1, Addrs: []string{"a"}, Storage: st, Rand: rand.New(rand.NewSource(1)),
		MemberLeaseTicks: 10})
	if err != nil {
		t.Fatal(err)
	}
	l := &loop{reps: []*Replica{r}, storage: []*raft.MemoryStorage{st}, down: map[int]bool{}}
	for i := 0; i < 3 && l.leader() < 0; i++ {
		l.step(t)
	}
	for _, m := range []string{"a#1", "b#1"} {
		l.request(0, vsync.OpJoin, m)
		for range 3 {
			l.step(t)
		}
	}
	if g := r.Map().Groups["g"]; g == nil || !g.Record.Has("b#1") {
		t.Fatalf("b#1 did not join: %+v", g)
	}
	for range 30 { // b#1 is silent: its lease (10 + margin 2) runs out; a#1 keeps syncing
		l.request(0, vsync.OpSync, "a#1")
		l.step(t)
	}
	l.inbox = nil
	r.Step(vsync.Message{Kind: vsync.MsgOracleRequest, From: "a#1",
		Req: &vsync.OracleRequest{Op: vsync.OpSuspect, Group: "g", Target: "b#1"}})
	l.request(0, vsync.OpSync, "b#1") // before the removal is applied
	for range 3 {
		l.step(t)
	}
	heard := 0
	for _, m := range l.inbox {
		if m.To != "b#1" {
			continue
		}
		heard++
		rec := m.Record
		if rec.Has("b#1") && (rec.Change == nil || slices.Contains(rec.Change.Next, "b#1")) {
			t.Fatalf("b#1 was answered with a record that keeps it (a renewed lease) while its removal was pending: %+v", rec)
		}
	}
	if g := r.Map().Groups["g"]; g.Record.Change == nil || slices.Contains(g.Record.Change.Next, "b#1") {
		t.Fatalf("the removal was not applied: %+v", g.Record)
	}
	if heard == 0 {
		t.Fatal("b#1 was not told of the record that removes it")
	}
}
