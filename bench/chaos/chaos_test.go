package chaos

import (
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
