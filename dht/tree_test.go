package dht

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/vsdb/vsdb/aggregate"
	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

// TestTreePlanShape: for every size and fan-out, the children lists reach every position exactly once
// from the root, and each child's parent is the position that lists it.
func TestTreePlanShape(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for fanout := 1; fanout <= 5; fanout++ {
			tp := treePlan{fanout: fanout, reps: make([]string, n), shards: make([]int, n)}
			seen := make([]int, n+1)
			queue := []int{0}
			for len(queue) > 0 {
				pos := queue[0]
				queue = queue[1:]
				seen[pos]++
				for _, c := range tp.children(pos) {
					if tp.parent(c) != pos {
						t.Fatalf("n=%d fanout=%d: parent(%d)=%d, listed by %d", n, fanout, c, tp.parent(c), pos)
					}
					queue = append(queue, c)
				}
			}
			for pos, k := range seen {
				if k != 1 {
					t.Fatalf("n=%d fanout=%d: position %d reached %d times", n, fanout, pos, k)
				}
			}
		}
	}
}

// treeHarness is ns replicas of an RF=1 layout driven by hand: every op is delivered to every replica
// in the same order; point-to-point partials are delivered in a seeded random order, some before their
// recipient delivered the query.
type treeHarness struct {
	t       *testing.T
	members []string
	cs      map[string]*Cluster
	all     *shard.Store // the same writes on one store: the brute force
	p2p     []Outgoing   // sent, not yet delivered
	answers map[string][]byte
	defers  map[string]bool
	early   int // partials delivered before their recipient delivered the query
}

func newTreeHarness(t *testing.T, ns int) *treeHarness {
	h := &treeHarness{t: t, cs: map[string]*Cluster{}, all: shard.NewStore(shard.Config{})}
	for i := 0; i < ns; i++ {
		m := fmt.Sprintf("m%d", i)
		c, err := NewCluster(m, Params{RF: 1, ExpectedGroupSize: ns}, shard.Config{})
		if err != nil {
			t.Fatal(err)
		}
		h.members = append(h.members, m)
		h.cs[m] = c
	}
	for _, c := range h.cs {
		c.OnView(vsync.View{ID: 1, Members: h.members})
	}
	return h
}

func (h *treeHarness) write(id uint64, cmd ...string) {
	args := make([][]byte, len(cmd))
	for i, a := range cmd {
		args[i] = []byte(a)
	}
	op := Op{Kind: OpWrite, ID: id, NowMs: 1, Cmds: [][][]byte{args}}
	for _, m := range h.members {
		h.cs[m].Apply(h.members[0], op.Encode(nil), true)
	}
	h.all.Exec(nil, args, 1)
}

// query delivers cut query q (fan-out fanout) from origin to every replica, interleaving the
// point-to-point partials at random, and returns the answers of the root's children.
func (h *treeHarness) query(rng *rand.Rand, origin string, id uint64, q *aggregate.Query, fanout int, holdFrom string) {
	b, _ := json.Marshal(q)
	op := Op{Kind: OpQuery, ID: id, NowMs: 2, Shard: fanout, Cmds: [][][]byte{{b}}}
	h.answers, h.defers, h.early = map[string][]byte{}, map[string]bool{}, 0
	order := slices.Clone(h.members)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, m := range order {
		reply, deferred := h.cs[m].ApplyDelivery(origin, op.Encode(nil), true, 77)
		if deferred {
			h.defers[m] = true
		} else if reply != nil {
			h.answers[m] = reply
		}
		h.collect(m, holdFrom)
		// Deliver some partials now, possibly before their recipient delivered the query.
		for len(h.p2p) > 0 && rng.Intn(2) == 0 {
			h.deliverOne(rng, holdFrom)
		}
	}
	for len(h.p2p) > 0 {
		h.deliverOne(rng, holdFrom)
	}
}

func (h *treeHarness) collect(from, holdFrom string) {
	for _, o := range h.cs[from].TakeOutgoing() {
		switch {
		case o.Reply:
			if o.QueryID != 77 || !h.defers[from] || h.answers[from] != nil {
				h.t.Fatalf("%s: unexpected deferred answer (query %d, deferred %v)", from, o.QueryID, h.defers[from])
			}
			h.answers[from] = o.Payload
		case from == holdFrom:
			// lost: the sender is cut off
		default:
			h.p2p = append(h.p2p, o)
		}
	}
}

func (h *treeHarness) deliverOne(rng *rand.Rand, holdFrom string) {
	i := rng.Intn(len(h.p2p))
	o := h.p2p[i]
	h.p2p = slices.Delete(h.p2p, i, i+1)
	op, err := DecodeOp(o.Payload)
	if err != nil || op.Kind != OpPartial {
		h.t.Fatalf("bad partial: %v", err)
	}
	if h.cs[o.To].rounds[roundKey{op.Addr, op.ID}] == nil {
		h.early++
	}
	h.cs[o.To].OnPartial(op)
	h.collect(o.To, holdFrom)
}

// TestTreeCombining: with 7 shards and fan-outs 1 to 4, the root's children's answers cover every shard
// exactly once and merge to the brute-force answer, whatever the order partials arrive in; a member
// whose answer waits for children defers it and gives it exactly once.
func TestTreeCombining(t *testing.T) {
	const ns = 7
	h := newTreeHarness(t, ns)
	for i := 0; i < 700; i++ {
		h.write(uint64(i+1), "hset", fmt.Sprint("acct:", i), "balance", fmt.Sprint(i%97), "region", fmt.Sprint("r", i%5))
	}
	q := &aggregate.Query{Match: "acct:*", Value: aggregate.Value{Field: "balance"}, GroupBy: &aggregate.GroupBy{Field: "region"},
		Aggregates: []aggregate.Spec{{Kind: aggregate.Sum}, {Kind: aggregate.Count}, {Kind: aggregate.Max}}}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	want, _ := EvalShard(h.all, q, 0, DefaultRouter(1), 2)
	deferredRounds, earlyPartials := 0, 0
	for seed := int64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		fanout := 1 + int(seed)%4
		h.query(rng, h.members[int(seed)%ns], uint64(seed), q, fanout, "")
		total := aggregate.NewGroups(q.Aggregates)
		var covered []int
		for m, b := range h.answers {
			p, err := DecodePartial(q, b)
			if err != nil {
				t.Fatalf("seed %d: %s: %v", seed, m, err)
			}
			covered = append(covered, p.Shards...)
			total.Merge(p.Groups)
		}
		slices.Sort(covered)
		if !slices.Equal(covered, []int{0, 1, 2, 3, 4, 5, 6}) {
			t.Fatalf("seed %d fan-out %d: answers cover shards %v", seed, fanout, covered)
		}
		if len(h.answers) != min(fanout, ns) {
			t.Fatalf("seed %d fan-out %d: %d answers, want one per child of the root", seed, fanout, len(h.answers))
		}
		deferredRounds += len(h.defers)
		earlyPartials += h.early
		if got, exp := fmt.Sprint(total.Encode(nil)), fmt.Sprint(want.Encode(nil)); got != exp {
			t.Fatalf("seed %d: merged answer differs from the brute force", seed)
		}
		for _, c := range h.cs {
			if len(c.rounds) != 0 || len(c.earlyParts) != 0 {
				t.Fatalf("seed %d: state left behind: %d rounds, %d early partials", seed, len(c.rounds), len(c.earlyParts))
			}
		}
	}
	// Both paths ran: answers that waited for children, and partials that came before their query.
	if deferredRounds == 0 || earlyPartials == 0 {
		t.Fatalf("%d deferred answers, %d early partials over the seeds: a path was not exercised", deferredRounds, earlyPartials)
	}
	t.Logf("%d deferred answers, %d early partials", deferredRounds, earlyPartials)
}

// TestTreeViewChangeEndsRound: a chain (fan-out 1) whose last member's partial is lost waits; a view
// change ends the waiting rounds, and the root's child answers with the shards it has, so the
// originator sees the missing shard (and retries) instead of waiting forever or combining it twice.
func TestTreeViewChangeEndsRound(t *testing.T) {
	const ns = 4
	h := newTreeHarness(t, ns)
	for i := 0; i < 100; i++ {
		h.write(uint64(i+1), "set", fmt.Sprint("k", i), fmt.Sprint(i))
	}
	q := &aggregate.Query{Aggregates: []aggregate.Spec{{Kind: aggregate.Count}}}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	// The plan's last position is the representative of shard 3.
	last := h.cs[h.members[0]].planQuery(Op{ID: 5, Shard: 1}, []int{0, 1, 2, 3}).reps[3]
	h.query(rng, h.members[0], 5, q, 1, last)
	if len(h.answers) != 0 {
		t.Fatalf("answered while a child's partial is missing: %v", h.answers)
	}
	for _, m := range h.members {
		h.cs[m].OnView(vsync.View{ID: 2, Members: h.members})
		h.collect(m, "")
	}
	for len(h.p2p) > 0 {
		h.deliverOne(rng, "")
	}
	if len(h.answers) != 1 {
		t.Fatalf("%d answers after the view change, want the root's child's", len(h.answers))
	}
	for _, b := range h.answers {
		p, err := DecodePartial(q, b)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(p.Shards, 3) || len(p.Shards) == 0 {
			t.Fatalf("answer covers %v: want the shards before the lost one", p.Shards)
		}
	}
}

// FuzzDecodePartial: any bytes decode to a partial or an error, never a panic; a decoded partial
// re-encodes to bytes that decode to the same partial.
func FuzzDecodePartial(f *testing.F) {
	q := &aggregate.Query{Aggregates: []aggregate.Spec{{Kind: aggregate.Sum}, {Kind: aggregate.TopK, K: 2}, {Kind: aggregate.Distinct}}}
	if err := q.Validate(); err != nil {
		f.Fatal(err)
	}
	gs := aggregate.NewGroups(q.Aggregates)
	gs.Add("eu", "a", 2, 0)
	gs.Add("us", "b", 5, 0)
	f.Add((&Partial{Shards: []int{0, 3}, Groups: gs}).Encode(nil))
	f.Add((&Partial{Shards: nil, Truncated: true, Groups: aggregate.NewGroups(q.Aggregates)}).Encode(nil))
	f.Add([]byte{1, 200, 200, 200, 200, 200, 200, 200, 200, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePartial(q, b)
		if err != nil {
			return
		}
		again, err := DecodePartial(q, p.Encode(nil))
		if err != nil {
			t.Fatalf("re-encoded partial does not decode: %v", err)
		}
		if !slices.Equal(again.Shards, p.Shards) || again.Truncated != p.Truncated ||
			fmt.Sprint(again.Groups.Encode(nil)) != fmt.Sprint(p.Groups.Encode(nil)) {
			t.Fatal("re-encoded partial differs")
		}
	})
}

// TestPartialMergeRefusesOverlap: a partial covering a shard already merged is not combined again.
func TestPartialMergeRefusesOverlap(t *testing.T) {
	specs := []aggregate.Spec{{Kind: aggregate.Count}}
	one := func(shards ...int) *Partial {
		gs := aggregate.NewGroups(specs)
		gs.Add("", "k", 1, 0)
		return &Partial{Shards: shards, Groups: gs}
	}
	p := one(0)
	p.merge(one(1, 2))
	p.merge(one(2, 3)) // overlaps shard 2
	if !slices.Equal(p.Shards, []int{0, 1, 2}) || p.Groups.By[""][0].N != 2 {
		t.Fatalf("after an overlapping merge: shards %v, count %v", p.Shards, p.Groups.By[""][0])
	}
}
