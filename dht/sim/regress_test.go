package sim

import (
	"testing"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

// Regression tests, on dht.Cluster directly, for the two replica bugs the simulator found.

func newReplicaT(t *testing.T, self string, p dht.Params) *dht.Cluster {
	t.Helper()
	c, err := dht.NewCluster(self, p, shard.Config{EvictionPolicy: "noeviction", EvictionSamples: 5})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keyOfShard returns a key of shard s.
func keyOfShard(s, ns int) string {
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		if dht.ShardOfKey([]byte(k), ns) == s {
			return k
		}
	}
	panic("no key")
}

// A member moved into another shard that lost every ready replica starts that shard empty, like its
// other replicas (found as digest_mismatch: the member kept its previous shard's keys; seed 6 of
// `vsdb dhtsim --faults crash,partition,drop,delay,dup` before the fix).
func TestResetShardStartsEmpty(t *testing.T) {
	p := dht.Params{RF: 1, ExpectedGroupSize: 2, MinGroupSize: 1}
	a, b, c := newReplicaT(t, "a", p), newReplicaT(t, "b", p), newReplicaT(t, "c", p)
	v1 := vsync.View{ID: 1, Members: []string{"a", "b", "c"}} // founders: a→0, b→1, c→0
	for _, r := range []*dht.Cluster{a, b, c} {
		r.OnView(v1)
	}
	w := dht.Op{Kind: dht.OpWrite, ID: 1, Cmds: [][][]byte{{[]byte("set"), []byte(keyOfShard(0, 2)), []byte("v")}}}
	for _, r := range []*dht.Cluster{a, b, c} {
		r.Apply("a", w.Encode(nil), true)
	}
	if _, s := c.Digest(0); s != 0 {
		t.Fatalf("c serves shard %d, want 0", s)
	}
	v2 := vsync.View{ID: 2, Members: []string{"a", "c"}} // b leaves: the tail c takes its position (shard 1)
	a.OnView(v2)
	c.OnView(v2)
	dg, s := c.Digest(0)
	if s != 1 || dg != 0 {
		t.Fatalf("c after the reset of shard 1: shard %d digest %x, want shard 1 empty (digest 0)", s, dg)
	}
}

// An OpReady from a load that a view change restarted is ignored (found as a cluster that did not
// settle: the member was marked ready, a donor, while it reloaded an empty store; seed 158).
func TestStaleReadyIgnored(t *testing.T) {
	p := dht.Params{RF: 2, ExpectedGroupSize: 2, MinGroupSize: 1}
	a := newReplicaT(t, "a", p)
	a.OnView(vsync.View{ID: 1, Members: []string{"a"}})
	x := newReplicaT(t, "x", p)
	if err := x.LoadMeta(a.Meta()); err != nil {
		t.Fatal(err)
	}
	v2 := vsync.View{ID: 2, Members: []string{"a", "x"}}
	xs := a.OnView(v2)
	x.OnView(v2)
	if len(xs) != 1 || xs[0].To != "x" {
		t.Fatalf("a's transfers = %+v, want one to x", xs)
	}
	done := false
	for {
		ch, last, ok := xs[0].Next()
		if !ok {
			t.Fatal("the transfer ended before its last chunk")
		}
		op, err := dht.DecodeOp(ch)
		if err != nil {
			t.Fatal(err)
		}
		done = x.OnChunk("a", op)
		if last {
			break
		}
	}
	if !done {
		t.Fatal("x's load did not finish")
	}
	ready := x.ReadyOp(0)
	// The notice is delivered only after the next view, which restarted x's load.
	v3 := vsync.View{ID: 3, Members: []string{"a", "x", "y"}}
	a.OnView(v3)
	x.OnView(v3)
	for _, r := range []*dht.Cluster{a, x} {
		r.Apply("x", ready.Encode(nil), true)
		if r.Layout().Ready["x"] {
			t.Fatalf("a stale OpReady (view %d, delivered in view 3) made x ready", ready.ID)
		}
	}
	// A notice of the current view counts.
	fresh := x.ReadyOp(0)
	a.Apply("x", fresh.Encode(nil), true)
	if !a.Layout().Ready["x"] {
		t.Fatal("a current OpReady did not make x ready")
	}
}

// TestRehashSeeds replays the seeds of `vsdb dhtsim --rehash --faults crash,partition,drop,delay,dup`
// that found the hash-migration bugs (738: a chunk delivered while its keys' new shard had no ready
// replica dropped them, an acknowledged write lost; 336: a holder placed in another shard sent its old
// outbox as the new shard's), plus a run of consecutive seeds. Each must migrate and stay clean.
func TestRehashSeeds(t *testing.T) {
	o := Options{Faults: []string{"crash", "partition", "drop", "delay", "dup"}, Rehash: true}
	for _, seed := range []int64{336, 738} {
		if r := RunSeed(seed, o); r.Violations() != 0 {
			t.Errorf("seed %d: %d violations: replay with %s", seed, r.Violations(), r.Replay)
		}
	}
	o.Seed, o.Seeds = 1, 40
	res := Run(o)
	if res.Violations != 0 {
		t.Fatalf("%d violations:\n%s", res.Violations, res.Report(5))
	}
	if res.Stats.Migrations < 40 {
		t.Fatalf("only %d hash-generation changes took effect over 40 seeds: the runs do not exercise the migration", res.Stats.Migrations)
	}
}
