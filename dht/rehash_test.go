package dht

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

// xorHashers: generation g XORs the CRC16 slot with a constant (generation 1 flips the shard of
// every key with 2 shards).
func xorHashers(gen uint64) Hasher {
	if gen != 1 {
		return nil
	}
	return HasherFunc(func(key []byte) uint16 { return shard.KeySlot(key) ^ 0x2000 })
}

func newTestReplica(t *testing.T, self string, p Params) *Cluster {
	t.Helper()
	c, err := NewCluster(self, p, shard.Config{EvictionPolicy: shard.PolicyNoEviction, EvictionSamples: 5})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHashGenRefusalsAndJoinerWithoutHasher: OpHashGen's preconditions answer the same error at every
// member; a member that does not know the group's generation cannot load its metadata, and one that
// meets it in the order stops with a Fault.
func TestHashGenRefusalsAndJoinerWithoutHasher(t *testing.T) {
	two := newTestReplica(t, "a", Params{RF: 1, ExpectedGroupSize: 2})
	two.SetHashers(xorHashers)
	two.OnView(vsync.View{ID: 1, Members: []string{"a"}})
	if got := string(two.Apply("a", func() []byte { op := HashGenOp(1); return op.Encode(nil) }(), true)); got != "-"+ErrClusterDown+"\r\n" {
		t.Fatalf("a change while shard 1 has no replica: %q", got)
	}
	p := Params{RF: 1, ExpectedGroupSize: 1}
	a := newTestReplica(t, "a", p)
	a.SetHashers(xorHashers)
	a.OnView(vsync.View{ID: 1, Members: []string{"a"}})
	apply := func(c *Cluster, gen uint64) string {
		op := HashGenOp(gen)
		return string(c.Apply("a", op.Encode(nil), true))
	}
	if got := apply(a, 0); !strings.Contains(got, "not above") {
		t.Fatalf("generation 0: %q", got)
	}
	if got := apply(a, 1); got != "+OK\r\n" {
		t.Fatalf("generation 1: %q", got)
	}
	// Even an empty outbox is sent (one last, empty chunk per source): only its holders know it is
	// empty, and every member must end the migration at the same point of the order.
	if got := apply(a, 2); got != "-"+ErrMigrating+"\r\n" {
		t.Fatalf("a change during the migration: %q", got)
	}
	out := a.TakeOutgoing()
	if len(out) != 1 || !out[0].Multicast {
		t.Fatalf("outgoing after the cut: %+v", out)
	}
	a.Apply("a", out[0].Payload, true)
	if a.Migrating() {
		t.Fatal("the migration did not end with the empty chunk of the only source")
	}
	if got := apply(a, 1); !strings.Contains(got, "not above") {
		t.Fatalf("generation 1 again: %q", got)
	}

	joiner := newTestReplica(t, "b", p)
	if err := joiner.LoadMeta(a.Meta()); !errors.Is(err, ErrParamsMismatch) || !strings.Contains(err.Error(), "hash generation 1") {
		t.Fatalf("LoadMeta without the hasher: %v", err)
	}
	joiner.SetHashers(xorHashers)
	if err := joiner.LoadMeta(a.Meta()); err != nil {
		t.Fatalf("LoadMeta with the hasher: %v", err)
	}
	if r := joiner.Router(); r.Gen != 1 || !r.Custom() {
		t.Fatalf("router after LoadMeta: %+v", r)
	}

	lost := newTestReplica(t, "c", p)
	lost.OnView(vsync.View{ID: 1, Members: []string{"c"}})
	if got := apply(lost, 1); !strings.HasPrefix(got, "-ERR hash generation 1 is unknown") || lost.Fault() == nil {
		t.Fatalf("unknown generation: %q, fault %v", got, lost.Fault())
	}
}

// TestHashGenMigratesThroughChunks drives two members (2 shards of 1) by hand: at the cut each moves
// the keys the new hasher gives the other shard into its outbox; ops answer TRYAGAIN until every
// source's chunks were delivered (in the total order: here, applied at both in the same order); then
// every key is at its new shard, with its value and deadline.
func TestHashGenMigratesThroughChunks(t *testing.T) {
	p := Params{RF: 1, ExpectedGroupSize: 2}
	members := []*Cluster{newTestReplica(t, "a", p), newTestReplica(t, "b", p)}
	view := vsync.View{ID: 1, Members: []string{"a", "b"}}
	for _, c := range members {
		c.SetHashers(xorHashers)
		c.OnView(view)
	}
	deliver := func(sender string, op Op) []string {
		var replies []string
		for _, c := range members {
			replies = append(replies, string(c.Apply(sender, op.Encode(nil), true)))
		}
		return replies
	}
	const n = 3000 // several chunks per source
	val := strings.Repeat("x", 200)
	for i := 0; i < n; i++ {
		cmd := [][]byte{[]byte("set"), []byte(fmt.Sprintf("key:%d", i)), []byte(val + fmt.Sprint(i))}
		if i%3 == 0 {
			cmd = append(cmd, []byte("pxat"), []byte("999999999"))
		}
		deliver("a", Op{Kind: OpWrite, ID: uint64(i + 1), NowMs: 1, Cmds: [][][]byte{cmd}})
	}
	before := members[0].Stats().Keys + members[1].Stats().Keys
	if before != n {
		t.Fatalf("%d keys before, want %d", before, n)
	}
	deliver("a", HashGenOp(1))
	get := Op{Kind: OpRead, ID: 99999, NowMs: 2, Cmds: [][][]byte{{[]byte("get"), []byte("key:7")}}}
	for _, r := range deliver("a", get) {
		if r == "" {
			continue
		}
		sr, err := DecodeShardReply([]byte(r))
		if err != nil || len(sr.Parts) != 1 || !IsMigratingReply(sr.Parts[0].Reply) {
			t.Fatalf("GET during the migration: %q %v", r, err)
		}
	}
	if _, ok := members[0].ReadLocal(nil, get.Cmds, 2); ok {
		t.Fatal("a local read was served during the migration")
	}
	chunks := 0
	for members[0].Migrating() {
		sent := 0
		for _, c := range members {
			for _, o := range c.TakeOutgoing() {
				if !o.Multicast {
					continue
				}
				op, err := DecodeOp(o.Payload)
				if err != nil {
					t.Fatal(err)
				}
				deliver(c.Self(), op)
				deliver(c.Self(), op) // a duplicate (a resend after a view change) is ignored
				sent++
				chunks++
			}
		}
		if sent == 0 {
			t.Fatal("migrating, but nothing to send")
		}
	}
	if chunks < 4 {
		t.Fatalf("%d chunks: the test should cut several per source", chunks)
	}
	route := NewRouter(2, 1, xorHashers(1))
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("key:%d", i))
		c := members[route.ShardOfKey(k)]
		out, ok := c.ReadLocal(nil, [][][]byte{{[]byte("get"), k}, {[]byte("pexpiretime"), k}}, 3)
		want := fmt.Sprintf("$%d\r\n%s%d\r\n", len(val)+len(fmt.Sprint(i)), val, i)
		if i%3 == 0 {
			want += ":999999999\r\n"
		} else {
			want += ":-1\r\n"
		}
		if !ok || string(out) != want {
			t.Fatalf("key:%d at shard %d after the migration: %q %v", i, route.ShardOfKey(k), out, ok)
		}
	}
	if after := members[0].Stats().Keys + members[1].Stats().Keys; after != n {
		t.Fatalf("%d keys after, want %d", after, n)
	}
	// An MGET routed before the cut (generation 0) and delivered now: its replies say generation 1, and
	// merging with that generation's router reads every key from the shard that holds it. (Merging
	// with the router it was routed by read moved keys from their old shard: absent.)
	mget := [][]byte{[]byte("mget")}
	want := "*8\r\n"
	moved := 0
	for i := 0; i < 8; i++ {
		k := []byte(fmt.Sprintf("key:%d", i))
		mget = append(mget, k)
		want += fmt.Sprintf("$%d\r\n%s%d\r\n", len(val)+len(fmt.Sprint(i)), val, i)
		if DefaultRouter(2).ShardOfKey(k) != route.ShardOfKey(k) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no key of the MGET changed shard: the check below would prove nothing")
	}
	var replies []vsync.QueryReply
	for _, r := range deliver("a", Op{Kind: OpRead, ID: 100000, NowMs: 3, Cmds: [][][]byte{mget}}) {
		if r != "" {
			replies = append(replies, vsync.QueryReply{Payload: []byte(r)})
		}
	}
	col := CollectParts(replies, 1)
	if !col.GenKnown || col.Gen != 1 {
		t.Fatalf("the replies' generation: %d (known %v), want 1", col.Gen, col.GenKnown)
	}
	if got := string(members[0].RouterAt(col.Gen).MergeReply(nil, mget, col.Parts[0])); got != want {
		t.Fatalf("MGET merged under generation %d: %q, want %q", col.Gen, got, want)
	}
	if stale := string(DefaultRouter(2).MergeReply(nil, mget, col.Parts[0])); stale == want {
		t.Fatal("merging under generation 0 gave the right answer too: the test does not tell them apart")
	}
}
