package shard_test

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/shard/difftest"
)

// diffSeeds returns the seeds to run: VSDB_DIFF_SEED replays one seed, otherwise 1..4.
func diffSeeds(t *testing.T) []int64 {
	if s := os.Getenv("VSDB_DIFF_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("VSDB_DIFF_SEED=%q: %v", s, err)
		}
		return []int64{n}
	}
	return []int64{1, 2, 3, 4}
}

func diffCount(t *testing.T) int {
	if s := os.Getenv("VSDB_DIFF_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("VSDB_DIFF_N=%q: %v", s, err)
		}
		return n
	}
	return 3000
}

// ttlClose allows the raw TTL/PTTL replies of both servers to differ by the clock skew between the two
// executions (a little over one second, as TTL rounds).
func ttlClose(args [][]byte, a, b []byte) bool {
	name := strings.ToLower(string(args[0]))
	if name != "ttl" && name != "pttl" {
		return true
	}
	x, err1 := strconv.ParseInt(strings.TrimSpace(string(a[1:])), 10, 64)
	y, err2 := strconv.ParseInt(strings.TrimSpace(string(b[1:])), 10, 64)
	if err1 != nil || err2 != nil || x < 0 || y < 0 {
		return true
	}
	tol := int64(2)
	if name == "pttl" {
		tol = 2000
	}
	return x-y <= tol && y-x <= tol
}

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
	n := diffCount(t)
	total := 0
	for _, seed := range diffSeeds(t) {
		if got := do([][]byte{[]byte("FLUSHALL")}); string(got) != "+OK\r\n" {
			t.Fatalf("FLUSHALL: %q", got)
		}
		st := shard.NewStore(shard.Config{})
		cmds := difftest.Generate(rand.New(rand.NewSource(seed)), n)
		for i, args := range cmds {
			want := do(args)
			got := st.Exec(nil, args, time.Now().UnixMilli())
			nw, ng := difftest.Normalize(args, want), difftest.Normalize(args, got)
			if string(nw) != string(ng) || !ttlClose(args, want, got) {
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
