package chaos

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/vsdb/vsdb/vsync/check"
)

// TestCheckersCatchStaleReadAndLostWrite feeds the history checks a stale read (a read after an
// acknowledged write that returns the older value) and a lost acknowledged write.
func TestCheckersCatchStaleReadAndLostWrite(t *testing.T) {
	good := []check.KVOp{
		{ClientID: 1, Key: "reg:0", Kind: "put", Value: "a", Call: 0, Return: 10},
		{ClientID: 2, Key: "reg:0", Kind: "put", Value: "b", Call: 20, Return: 30},
		{ClientID: 3, Key: "reg:0", Kind: "get", Value: "b", Found: true, Call: 40, Return: 50},
		{ClientID: 4, Key: "reg:1", Kind: "put", Value: "x", Call: 0, Return: pendingReturn}, // outcome unknown
		{ClientID: -1, Key: "reg:1", Kind: "get", Found: false, Call: 60, Return: 70},
	}
	if ok, info := check.CheckLinearizable(good, time.Minute); !ok {
		t.Fatalf("correct history rejected: %s", info)
	}
	if n := lostAcked(good); n != 0 {
		t.Fatalf("lostAcked = %d on a history without a lost write", n)
	}
	stale := append(good[:3:3], check.KVOp{ClientID: 5, Key: "reg:0", Kind: "get", Value: "a", Found: true, Call: 60, Return: 70})
	if ok, info := check.CheckLinearizable(stale, time.Minute); ok {
		t.Fatal("a stale read passed")
	} else {
		t.Logf("caught: %s", info)
	}
	lost := []check.KVOp{
		{ClientID: 1, Key: "reg:2", Kind: "put", Value: "v", Call: 0, Return: 10},
		{ClientID: -1, Key: "reg:2", Kind: "get", Found: false, Call: 20, Return: 30},
	}
	if n := lostAcked(lost); n != 1 {
		t.Fatalf("lostAcked = %d, want 1", n)
	}
	if ok, _ := check.CheckLinearizable(lost, time.Minute); ok {
		t.Fatal("a lost acknowledged write passed linearizability")
	}
	if got := (Result{Ops: 3, Linearizable: true}).Line(); got != "ops=3 linearizable=yes lost_acked=0 partial_reads=0 digest_mismatch=0" {
		t.Fatalf("Line() = %q", got)
	}
}

// TestPruneUnobservedKeepsVerdict compares porcupine's verdict on random small register histories
// (with writes of unknown outcome, linearizable or not) before and after pruneUnobserved, and checks
// that pruning drops exactly the unknown writes nobody read.
func TestPruneUnobservedKeepsVerdict(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	verdicts := map[bool]int{}
	for seed := 0; seed < 3000; seed++ {
		var ops []check.KVOp
		var values []string
		n := 2 + rng.Intn(7)
		for i := 0; i < n; i++ {
			call := int64(rng.Intn(40))
			ret := call + int64(rng.Intn(15))
			if rng.Intn(2) == 0 {
				v := fmt.Sprintf("v%d", i)
				values = append(values, v)
				if rng.Intn(3) == 0 {
					ret = pendingReturn
				}
				ops = append(ops, check.KVOp{ClientID: i, Key: "k", Kind: "put", Value: v, Call: call, Return: ret})
				continue
			}
			op := check.KVOp{ClientID: i, Key: "k", Kind: "get", Call: call, Return: ret}
			if len(values) > 0 && rng.Intn(4) != 0 {
				op.Found, op.Value = true, values[rng.Intn(len(values))]
			}
			ops = append(ops, op)
		}
		pruned := pruneUnobserved(ops)
		full, _ := check.CheckLinearizable(ops, time.Minute)
		short, _ := check.CheckLinearizable(pruned, time.Minute)
		if full != short {
			t.Fatalf("seed %d: verdict %v on %+v but %v after pruning to %+v", seed, full, ops, short, pruned)
		}
		verdicts[full]++
		dropped := 0
		for _, op := range ops {
			if op.Kind == "put" && op.Return == pendingReturn && !slices.ContainsFunc(ops, func(g check.KVOp) bool {
				return g.Kind == "get" && g.Found && g.Value == op.Value
			}) {
				dropped++
			}
		}
		if len(ops)-len(pruned) != dropped {
			t.Fatalf("seed %d: pruned %d operations, want %d", seed, len(ops)-len(pruned), dropped)
		}
	}
	if verdicts[true] == 0 || verdicts[false] == 0 {
		t.Fatalf("the generator made only one kind of history: %v", verdicts)
	}
	t.Logf("verdicts: %v", verdicts)
}
