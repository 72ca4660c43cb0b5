package dht

import (
	"testing"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

// watchCluster is three members with RF=1 (three shards), driven by hand: every op is delivered to all
// of them in the same order, as vsync's total order does.
type watchCluster struct {
	t       *testing.T
	members []*Cluster
	nextID  uint64
}

func newWatchCluster(t *testing.T) *watchCluster {
	w := &watchCluster{t: t}
	v := vsync.View{ID: 1, Members: []string{"a", "b", "c"}}
	for _, id := range v.Members {
		c, err := NewCluster(id, Params{RF: 1, ExpectedGroupSize: 3}, shard.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c.OnView(v)
		w.members = append(w.members, c)
	}
	return w
}

// deliver delivers op from a to every member and returns the answer of the replica of the op's
// shard, and whether that answer had an aborted (empty) part. Every member must end with the same
// write stamps: stamps skip aborted writes, so that is every member taking the same decisions, the
// members that do not hold the keys included.
func (w *watchCluster) deliver(op Op) (aborted bool, answer ShardReply) {
	w.t.Helper()
	w.nextID++
	op.ID = w.nextID
	for _, c := range w.members {
		if r := c.Apply("a", op.Encode(nil), true); r != nil {
			sr, err := DecodeShardReply(r)
			if err != nil {
				w.t.Fatal(err)
			}
			answer = sr
			for _, p := range sr.Parts {
				aborted = aborted || len(p.Reply) == 0
			}
		}
	}
	for _, c := range w.members[1:] {
		if c.stamps != w.members[0].stamps {
			w.t.Fatalf("members' write stamps differ after op %+v", op)
		}
	}
	return aborted, answer
}

func (w *watchCluster) watch(at int, key string, deadlineMs int64) Watch {
	view, version := w.members[at].WatchVersion([]byte(key))
	return Watch{Key: []byte(key), Version: version, View: view, DeadlineMs: deadlineMs}
}

func set(key, val string) [][]byte { return [][]byte{[]byte("set"), []byte(key), []byte(val)} }

// TestWatchGuards: an EXEC guarded by WATCH runs unless a watched key was written (by any member's
// op), its slot was flushed, the view changed, or its deadline passed; every member decides the same,
// also those that do not hold the key; an aborted command is not applied and answers an empty part.
func TestWatchGuards(t *testing.T) {
	w := newWatchCluster(t)
	exec := func(nowMs int64, watches ...Watch) (bool, ShardReply) {
		return w.deliver(Op{Kind: OpWrite, NowMs: nowMs, Cmds: [][][]byte{set("k", "exec")},
			Guards: []Guard{{First: 0, Count: 1, Watches: watches}}})
	}
	// Nothing changed: it runs (watched from member c, whichever shard holds k).
	if ab, r := exec(10, w.watch(2, "k", -2)); ab || len(r.Parts) != 1 || string(r.Parts[0].Reply) != "+OK\r\n" {
		t.Fatalf("unchanged key: aborted %v, answer %+v", ab, r)
	}
	// A write to k between WATCH and EXEC aborts it; the value stays the other write's.
	wk := w.watch(0, "k", -1)
	w.deliver(Op{Kind: OpWrite, NowMs: 11, Cmds: [][][]byte{set("k", "other")}})
	if ab, r := exec(12, wk); !ab || len(r.Parts) != 1 || len(r.Parts[0].Reply) != 0 {
		t.Fatalf("changed key: aborted %v, answer %+v", ab, r)
	}
	for _, c := range w.members {
		if out, ok := c.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte("k")}}, 13); ok && string(out) != "$5\r\nother\r\n" {
			t.Fatalf("k = %q after the aborted EXEC", out)
		}
	}
	// A write to a key of another slot does not abort; a read does not either.
	wk = w.watch(1, "k", -1)
	w.deliver(Op{Kind: OpWrite, NowMs: 14, Cmds: [][][]byte{set("unrelated", "x")}})
	w.deliver(Op{Kind: OpRead, NowMs: 14, Cmds: [][][]byte{{[]byte("get"), []byte("k")}}})
	if ab, _ := exec(15, wk); ab {
		t.Fatal("a write to another slot aborted the EXEC")
	}
	// An aborted EXEC writes nothing, so it does not bump the version: a WATCH before it still holds.
	wk = w.watch(1, "k", -1)
	w.deliver(Op{Kind: OpWrite, NowMs: 16, Cmds: [][][]byte{set("k", "x")}})
	if ab, _ := exec(17, wk); !ab {
		t.Fatal("not aborted")
	}
	wk = w.watch(1, "k", -1)
	if ab, _ := exec(18, w.watch(1, "k", -1), wk); ab {
		t.Fatal("aborted right after another aborted EXEC")
	}
	// FLUSHALL aborts every watch.
	wk = w.watch(0, "k", -1)
	w.deliver(Op{Kind: OpWrite, NowMs: 19, Cmds: [][][]byte{{[]byte("flushall")}}})
	if ab, _ := exec(20, wk); !ab {
		t.Fatal("FLUSHALL did not abort")
	}
	// The deadline: a key that expires between WATCH and EXEC aborts it.
	wk = w.watch(0, "k", 100)
	if ab, _ := exec(100, wk); ab {
		t.Fatal("aborted at the deadline (a key expires strictly after it)")
	}
	wk = w.watch(0, "k", 100)
	if ab, _ := exec(101, wk); !ab {
		t.Fatal("not aborted after the deadline")
	}
	// Only the guarded range is aborted: a batch op with another request's command runs that one.
	wk = w.watch(0, "k", -1)
	w.deliver(Op{Kind: OpWrite, NowMs: 102, Cmds: [][][]byte{set("k", "y")}})
	ab, _ := w.deliver(Op{Kind: OpWrite, NowMs: 103, Cmds: [][][]byte{set("free", "1"), set("k", "z")},
		Guards: []Guard{{First: 1, Count: 1, Watches: []Watch{wk}}}})
	if !ab {
		t.Fatal("not aborted")
	}
	for _, c := range w.members {
		if out, ok := c.ReadLocal(nil, [][][]byte{{[]byte("get"), []byte("free")}}, 104); ok && string(out) != "$1\r\n1\r\n" {
			t.Fatalf("the unguarded command of the batch did not run: %q", out)
		}
	}
	// Two EXECs that watched the same key, batched into one op: the first runs, the second aborts (it
	// comes after the first's write).
	wk = w.watch(0, "k", -1)
	wk2 := w.watch(1, "k", -1)
	_, r := w.deliver(Op{Kind: OpWrite, NowMs: 104, Cmds: [][][]byte{set("k", "first"), set("k", "second")},
		Guards: []Guard{{First: 0, Count: 1, Watches: []Watch{wk}}, {First: 1, Count: 1, Watches: []Watch{wk2}}}})
	if len(r.Parts) != 2 || string(r.Parts[0].Reply) != "+OK\r\n" || len(r.Parts[1].Reply) != 0 {
		t.Fatalf("two guarded EXECs of one key in one op: %+v (want the first run, the second aborted)", r)
	}
	// The same with the guards listed out of order: they are still decided in command order.
	wk, wk2 = w.watch(0, "k", -1), w.watch(1, "k", -1)
	_, r = w.deliver(Op{Kind: OpWrite, NowMs: 104, Cmds: [][][]byte{set("k", "first"), set("k", "second")},
		Guards: []Guard{{First: 1, Count: 1, Watches: []Watch{wk2}}, {First: 0, Count: 1, Watches: []Watch{wk}}}})
	if len(r.Parts) != 2 || string(r.Parts[0].Reply) != "+OK\r\n" || len(r.Parts[1].Reply) != 0 {
		t.Fatalf("guards out of order: %+v (want the first run, the second aborted)", r)
	}
	// A view change aborts a watch taken before it.
	wk = w.watch(0, "k", -1)
	v2 := vsync.View{ID: 2, Members: []string{"a", "b", "c"}}
	for _, c := range w.members {
		c.OnView(v2)
	}
	if ab, _ := exec(105, wk); !ab {
		t.Fatal("a view change did not abort")
	}
}

// TestOpGuardsRoundTrip: guards survive encoding, and a guard outside the op's commands is refused.
func TestOpGuardsRoundTrip(t *testing.T) {
	op := Op{Kind: OpWrite, ID: 7, NowMs: 5, Cmds: [][][]byte{set("a", "1"), set("b", "2")},
		Guards: []Guard{{First: 1, Count: 1, Watches: []Watch{{Key: []byte("a"), Version: 3, View: 9, DeadlineMs: -2}}}}}
	got, err := DecodeOp(op.Encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Guards) != 1 || got.Guards[0].First != 1 || got.Guards[0].Count != 1 || len(got.Guards[0].Watches) != 1 {
		t.Fatalf("guards %+v", got.Guards)
	}
	if w := got.Guards[0].Watches[0]; string(w.Key) != "a" || w.Version != 3 || w.View != 9 || w.DeadlineMs != -2 {
		t.Fatalf("watch %+v", w)
	}
	op.Guards[0].Count = 2
	if _, err := DecodeOp(op.Encode(nil)); err == nil {
		t.Fatal("a guard beyond the op's commands decoded")
	}
}
