package dht

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/vsdb/vsdb/shard"
)

func TestSlotRangeMatchesShardOfSlot(t *testing.T) {
	for _, ns := range []int{1, 2, 3, 5, 7, 100, 16384} {
		next := 0
		for s := 0; s < ns; s++ {
			first, last := SlotRange(s, ns)
			if int(first) != next || last < first {
				t.Fatalf("ns=%d shard %d: range %d-%d, want start %d", ns, s, first, last, next)
			}
			for _, slot := range []uint16{first, last} {
				if got := ShardOfSlot(slot, ns); got != s {
					t.Fatalf("ns=%d: slot %d in range of shard %d but ShardOfSlot says %d", ns, slot, s, got)
				}
			}
			next = int(last) + 1
		}
		if next != shard.SlotCount {
			t.Fatalf("ns=%d: ranges end at %d", ns, next)
		}
	}
}

// TestNextPlacementProperties checks, over random view sequences, the placement rules: members that
// stay keep their position; after departures only the members moved into holes (taken from the tail)
// change position; joiners come last; the placement is exactly the view's members.
func TestNextPlacementProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	next := 0
	var members []string
	var placement []string
	for step := 0; step < 2000; step++ {
		prev := slices.Clone(placement)
		// random departures and joins
		var view []string
		for _, m := range members {
			if rng.Intn(6) != 0 {
				view = append(view, m)
			}
		}
		for j := rng.Intn(3); j > 0; j-- {
			next++
			view = append(view, fmt.Sprintf("m%d", next))
		}
		members = view
		placement = NextPlacement(prev, view)
		if len(placement) != len(view) {
			t.Fatalf("step %d: placement %v for view %v", step, placement, view)
		}
		for _, m := range view {
			if !slices.Contains(placement, m) {
				t.Fatalf("step %d: %s missing from %v", step, m, placement)
			}
		}
		departed := 0
		for _, m := range prev {
			if !slices.Contains(view, m) {
				departed++
			}
		}
		moved := 0
		for i, m := range placement {
			if j := slices.Index(prev, m); j >= 0 && j != i {
				moved++
				if j < len(prev)-departed {
					t.Fatalf("step %d: %s moved from %d to %d but was not at the tail (prev %v, next %v)", step, m, j, i, prev, placement)
				}
			}
		}
		if moved > departed {
			t.Fatalf("step %d: %d moved for %d departures", step, moved, departed)
		}
	}
}
