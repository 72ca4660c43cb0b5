package dht

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vsdb/vsdb/vsync"
)

// TestTransferStreamsTheCutWhileWriting: the donor cuts its chunks from the live store while it applies
// writes between them (overwrites, deletes, creations, INCR, HSET, expiry changes, and in one run a
// FLUSHALL) to keys of slots already sent and not yet sent; the joiner, loading the chunks and then
// the writes it buffered since the cut, ends with the donor's data (equal digests).
func TestTransferStreamsTheCutWhileWriting(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flushall=%v", flush), func(t *testing.T) {
			p := Params{RF: 2, ExpectedGroupSize: 2}
			a, b := newTestReplica(t, "a", p), newTestReplica(t, "b", p)
			a.OnView(vsync.View{ID: 1, Members: []string{"a"}})
			id := uint64(0)
			write := func(cmd ...string) {
				id++
				args := make([][]byte, len(cmd))
				for i, s := range cmd {
					args[i] = []byte(s)
				}
				op := Op{Kind: OpWrite, ID: id, NowMs: 5, Cmds: [][][]byte{args}}
				a.Apply("a", op.Encode(nil), true)
				if b.view.ID == 2 {
					b.Apply("a", op.Encode(nil), true)
				}
			}
			const n = 4000
			for i := 0; i < n; i++ {
				write("set", fmt.Sprint("k", i), fmt.Sprintf("%0200d", i))
			}
			if err := b.LoadMeta(a.Meta()); err != nil {
				t.Fatal(err)
			}
			v2 := vsync.View{ID: 2, Members: []string{"a", "b"}}
			xs := a.OnView(v2)
			b.OnView(v2)
			if len(xs) != 1 {
				t.Fatalf("%d transfers", len(xs))
			}
			rng := rand.New(rand.NewPCG(7, 7))
			chunks := 0
			for done := false; !done; {
				ch, last, ok := xs[0].Next()
				if !ok {
					t.Fatal("the transfer ended early")
				}
				op, err := DecodeOp(ch)
				if err != nil {
					t.Fatal(err)
				}
				done = b.OnChunk("a", op)
				if done != last {
					t.Fatalf("chunk %d: load finished %v, last %v", op.Seq, done, last)
				}
				chunks++
				if flush && chunks == 3 {
					write("flushall")
				}
				for j := 0; j < 40; j++ {
					k := fmt.Sprint("k", rng.IntN(n+500)) // some keys did not exist at the cut
					switch rng.IntN(6) {
					case 0:
						write("set", k, fmt.Sprint("new", j))
					case 1:
						write("del", k)
					case 2:
						write("set", fmt.Sprint("n", rng.IntN(1000)), "1")
						write("incr", fmt.Sprint("n", rng.IntN(1000)))
					case 3:
						write("hset", fmt.Sprint("h", rng.IntN(300)), "f", k)
					case 4:
						write("pexpireat", k, "999999")
					case 5:
						write("append", k, "+")
					}
				}
			}
			if chunks < 4 {
				t.Fatalf("%d chunks: the test needs several", chunks)
			}
			da, sa := a.Digest(10)
			db, sb := b.Digest(10)
			if sa != 0 || sb != 0 || da != db {
				t.Fatalf("donor shard %d digest %x (%d keys), joiner shard %d digest %x (%d keys)", sa, da, a.Stats().Keys, sb, db, b.Stats().Keys)
			}
			if len(a.exports) != 0 {
				t.Fatalf("%d transfers still held after the last chunk", len(a.exports))
			}
		})
	}
}
