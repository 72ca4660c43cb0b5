package shard_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/shard/difftest"
)

// TestDifferentialAgainstRedis runs generated commands against redis-server and a Store and fails on the
// first differing (normalized) reply. Replay one seed with VSDB_DIFF_SEED=<n> (and VSDB_DIFF_N=<count>).
func TestDifferentialAgainstRedis(t *testing.T) {
	rd := difftest.StartRedis(t)
	do := func(args [][]byte) []byte {
		reply, err := rd.Do(args)
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}
	n := difftest.Count(t)
	total := 0
	for _, seed := range difftest.Seeds(t) {
		if got := do([][]byte{[]byte("FLUSHALL")}); string(got) != "+OK\r\n" {
			t.Fatalf("FLUSHALL: %q", got)
		}
		st := shard.NewStore(shard.Config{})
		cmds := difftest.Generate(rand.New(rand.NewSource(seed)), n)
		for i, args := range cmds {
			want := do(args)
			got := st.Exec(nil, args, time.Now().UnixMilli())
			if !difftest.Equivalent(args, want, got) {
				nw, ng := difftest.Normalize(args, want), difftest.Normalize(args, got)
				var ctx strings.Builder
				for j := max(0, i-15); j < i; j++ {
					fmt.Fprintf(&ctx, "  #%d %q\n", j, cmds[j])
				}
				t.Fatalf("seed %d (replay: VSDB_DIFF_SEED=%d VSDB_DIFF_N=%d), command #%d differs:\n%s  #%d %q\nredis: %q\nvsdb:  %q\n(normalized: redis %q, vsdb %q)",
					seed, seed, n, i, ctx.String(), i, args, want, got, nw, ng)
			}
			total++
		}
	}
	t.Logf("%d commands matched redis-server", total)
}
