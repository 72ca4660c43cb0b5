package dht

import (
	"fmt"
	"testing"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

// TestClusterTransferEarlyChunks drives two replicas by hand: a founder with data, then a joiner whose
// shard arrives as chunks, some before the joiner installed the view (point-to-point messages do not
// wait for the recipient's install). The joiner ends with the founder's data, including a write
// buffered during the load, and a buffered write is read locally only once it is acknowledged.
func TestClusterTransferEarlyChunks(t *testing.T) {
	p := Params{RF: 2, ExpectedGroupSize: 2}
	a, err := NewCluster("a", p, shard.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewCluster("b", p, shard.Config{})
	a.OnView(vsync.View{ID: 1, Members: []string{"a"}})
	for i := 0; i < 3000; i++ {
		op := Op{Kind: OpWrite, ID: uint64(i + 1), NowMs: 1, Cmds: [][][]byte{{[]byte("set"), []byte(fmt.Sprint("k", i)), make([]byte, 200)}}}
		if a.Apply("a", op.Encode(nil), true) == nil {
			t.Fatal("founder did not answer its write")
		}
	}
	if err := b.LoadMeta(a.Meta()); err != nil {
		t.Fatal(err)
	}
	v2 := vsync.View{ID: 2, Members: []string{"a", "b"}}
	xs := a.OnView(v2)
	if len(xs) != 1 || xs[0].To != "b" {
		t.Fatalf("%d transfers (want 1 to b)", len(xs))
	}
	chunks := drainTransfer(t, xs[0])
	if len(chunks) < 2 {
		t.Fatalf("%d chunks, want at least 2", len(chunks))
	}
	// The first chunk arrives before b installs view 2.
	op, _ := DecodeOp(chunks[0])
	if b.OnChunk("a", op) {
		t.Fatal("loaded before the view")
	}
	b.OnView(v2)
	// Two writes of view 2, delivered while b loads: buffered by b, applied by a. The first one's
	// commit notice comes during the load; the second one's after it.
	w := Op{Kind: OpWrite, ID: 9998, NowMs: 2, Cmds: [][][]byte{{[]byte("set"), []byte("early"), []byte("acked")}}}
	w1 := Op{Kind: OpWrite, ID: 9999, NowMs: 2, Cmds: [][][]byte{{[]byte("set"), []byte("during"), []byte("load")}}}
	for _, op := range []Op{w, w1} {
		a.Apply("a", op.Encode(nil), true)
		if b.Apply("a", op.Encode(nil), true) != nil {
			t.Fatal("a loading replica answered")
		}
	}
	notice := Op{Kind: OpCommit, IDs: []uint64{9998}}
	a.Apply("a", notice.Encode(nil), false)
	b.Apply("a", notice.Encode(nil), false)
	done := false
	for _, ch := range chunks[1:] {
		op, _ := DecodeOp(ch)
		done = b.OnChunk("a", op)
	}
	if !done {
		t.Fatal("load not finished after the last chunk")
	}
	da, _ := a.Digest(10)
	db, sb := b.Digest(10)
	if sb != 0 || da != db {
		t.Fatalf("digests %x (a) %x (b, shard %d)", da, db, sb)
	}
	// The write committed during the load is readable locally at once. The other one is pending, as
	// at a replica that applied it on delivery: another replica may not have applied it yet.
	if out, ok := b.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte("early")}}, 10); !ok || string(out) != "$5\r\nacked\r\n" {
		t.Fatalf("local read of the committed buffered write: %q %v", out, ok)
	}
	if _, ok := b.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte("during")}}, 10); ok {
		t.Fatal("a buffered write not yet acknowledged was read locally")
	}
	notice = Op{Kind: OpCommit, IDs: []uint64{9999}}
	b.Apply("a", notice.Encode(nil), false)
	if out, ok := b.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte("during")}}, 10); !ok || string(out) != "$4\r\nload\r\n" {
		t.Fatalf("local read after the commit notice: %q %v", out, ok)
	}
	// A write applied by a loaded replica is pending until its commit notice.
	w2 := Op{Kind: OpWrite, ID: 10000, NowMs: 3, Cmds: [][][]byte{{[]byte("set"), []byte("during"), []byte("after")}}}
	if b.Apply("a", w2.Encode(nil), true) == nil {
		t.Fatal("a loaded replica did not answer")
	}
	if _, ok := b.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte("during")}}, 10); ok {
		t.Fatal("a pending key was read locally")
	}
	commit := Op{Kind: OpCommit, IDs: []uint64{10000}}
	b.Apply("a", commit.Encode(nil), true)
	if out, ok := b.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte("during")}}, 10); !ok || string(out) != "$5\r\nafter\r\n" {
		t.Fatalf("local read after the commit %q %v", out, ok)
	}
}

// TestClusterPiggybackedCommit: a write op's IDs release the keys of the same sender's earlier ops
// (and only that sender's), before the op itself makes its own keys pending; Commit releases at once.
func TestClusterPiggybackedCommit(t *testing.T) {
	c, err := NewCluster("a", Params{RF: 1, ExpectedGroupSize: 1}, shard.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c.OnView(vsync.View{ID: 1, Members: []string{"a"}})
	set := func(id uint64, key string, ids ...uint64) {
		t.Helper()
		op := Op{Kind: OpWrite, ID: id, NowMs: 1, IDs: ids, Cmds: [][][]byte{{[]byte("set"), []byte(key), []byte("v")}}}
		if c.Apply("a", op.Encode(nil), true) == nil {
			t.Fatalf("write %d not answered", id)
		}
	}
	local := func(key string) bool {
		_, ok := c.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte(key)}}, 1)
		return ok
	}
	set(1, "k1")
	set(2, "k2")
	if local("k1") || local("k2") {
		t.Fatal("a pending key was read locally")
	}
	// Another sender's op naming id 1 releases nothing: ids are per sender.
	other := Op{Kind: OpWrite, ID: 7, NowMs: 1, IDs: []uint64{1}, Cmds: [][][]byte{{[]byte("set"), []byte("x"), []byte("v")}}}
	c.Apply("b", other.Encode(nil), true)
	if local("k1") {
		t.Fatal("another sender's notice released k1")
	}
	// Op 3 carries the notice of op 1; its own key k1 (written again) stays pending because of op 3.
	set(3, "k1", 1)
	if local("k1") {
		t.Fatal("k1 released although op 3 rewrote it and is unacknowledged")
	}
	set(4, "k4", 3)
	if !local("k1") {
		t.Fatal("k1 still pending after the notices of ops 1 and 3")
	}
	if local("k2") || local("k4") {
		t.Fatal("k2 or k4 released without their notice")
	}
	c.Commit("a", 2, 4, 99)
	if !local("k2") || !local("k4") {
		t.Fatal("Commit did not release k2 and k4")
	}
}

// drainTransfer cuts every chunk of x at once.
func drainTransfer(t *testing.T, x Transfer) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		ch, last, ok := x.Next()
		if !ok {
			t.Fatal("the transfer ended before its last chunk")
		}
		out = append(out, ch)
		if last {
			return out
		}
	}
}

// TestClusterLocalAck: a LocalAck write is answered to its originator's SetOwnAck callback (only
// there), leaves no pending mark (a local read of the key is served at once), and, when its originator
// is not a ready replica of the key's shard, is applied at no member and reported as not applied.
func TestClusterLocalAck(t *testing.T) {
	p := Params{RF: 1, ExpectedGroupSize: 2}
	type ack struct {
		id      uint64
		reply   []byte
		applied bool
	}
	var acks map[string][]ack
	members := map[string]*Cluster{}
	for _, id := range []string{"a", "b"} {
		c, err := NewCluster(id, p, shard.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c.SetOwnAck(func(opID uint64, reply []byte, applied bool) {
			acks[id] = append(acks[id], ack{opID, reply, applied})
		})
		members[id] = c
	}
	v := vsync.View{ID: 1, Members: []string{"a", "b"}}
	for _, c := range members {
		c.OnView(v)
	}
	a := members["a"]
	// A key of a's shard and a key of the other shard.
	var mine, other []byte
	for i := 0; mine == nil || other == nil; i++ {
		k := []byte(fmt.Sprint("key", i))
		set := [][][]byte{{[]byte("set"), k, []byte("v")}}
		if a.CanAckLocally(set) {
			mine = k
		} else {
			other = k
		}
	}
	deliver := func(op Op) {
		acks = map[string][]ack{}
		for _, id := range []string{"a", "b"} {
			if reply := members[id].Apply("a", op.Encode(nil), true); reply != nil {
				t.Fatalf("%s answered a LocalAck op with %q (the answer goes to the callback)", id, reply)
			}
		}
	}

	deliver(Op{Kind: OpWrite, ID: 1, NowMs: 1, LocalAck: true, Cmds: [][][]byte{{[]byte("set"), mine, []byte("v1")}}})
	if len(acks["b"]) != 0 || len(acks["a"]) != 1 || acks["a"][0].id != 1 || !acks["a"][0].applied {
		t.Fatalf("acks %+v, want one applied answer of op 1 at a", acks)
	}
	col := CollectParts([]vsync.QueryReply{{Payload: acks["a"][0].reply}}, 1)
	if got := string(col.Parts[0][a.myShard]); got != "+OK\r\n" {
		t.Fatalf("a's answer %q, want +OK", got)
	}
	if !col.GenKnown || col.Gen != a.Router().Gen {
		t.Fatalf("the answer's generation %d (known %v), want %d", col.Gen, col.GenKnown, a.Router().Gen)
	}
	if out, ok := a.ReadLocal(nil, [][][]byte{{[]byte("get"), mine}}, 1); !ok || string(out) != "$2\r\nv1\r\n" {
		t.Fatalf("local read after a LocalAck write: %q %v (no pending mark: it must be served)", out, ok)
	}

	deliver(Op{Kind: OpWrite, ID: 2, NowMs: 1, LocalAck: true, Cmds: [][][]byte{{[]byte("set"), other, []byte("v2")}}})
	if len(acks["a"]) != 1 || acks["a"][0].applied || acks["a"][0].reply != nil {
		t.Fatalf("acks %+v, want op 2 reported as applied nowhere", acks)
	}
	for id, c := range members {
		if n := c.st.Stats().Keys; n > 1 || (id == "b" && n != 0) {
			t.Fatalf("%s holds %d keys after a refused LocalAck write", id, c.st.Stats().Keys)
		}
	}
}
