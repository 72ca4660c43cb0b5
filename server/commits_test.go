package server

import (
	"slices"
	"testing"
)

// TestCommitNotices: ids come out oldest first, at most maxIDBatch per take, beyond the limit they are
// dropped, and every take that returned ids counts (commitLoop's "did a write op carry them" test).
func TestCommitNotices(t *testing.T) {
	q := newCommitNotices(maxIDBatch + 10)
	if ids := q.take(); ids != nil {
		t.Fatalf("take of an empty queue = %v", ids)
	}
	if taken, waiting := q.state(); taken != 0 || waiting {
		t.Fatalf("state %d %v, want 0 false", taken, waiting)
	}
	for i := uint64(1); i <= maxIDBatch+20; i++ {
		q.add(i)
	}
	select {
	case <-q.wake:
	default:
		t.Fatal("add did not signal")
	}
	first := q.take()
	if len(first) != maxIDBatch || first[0] != 1 || !slices.IsSorted(first) {
		t.Fatalf("first take: %d ids from %d", len(first), first[0])
	}
	rest := q.take()
	if len(rest) != 10 || rest[0] != maxIDBatch+1 || rest[9] != maxIDBatch+10 {
		t.Fatalf("second take %v, want the 10 that fit the limit", rest)
	}
	if taken, waiting := q.state(); taken != 2 || waiting {
		t.Fatalf("state %d %v, want 2 false", taken, waiting)
	}
}
