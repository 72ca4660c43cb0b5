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

// TestNextPlacementProperties checks, over random view sequences with random pins, the placement rules:
// members that stay keep their position unless moved from the tail into a hole, and a pinned member
// never moves; holes are filled by joiners first; a hole stays only when no joiner was left and the
// tail was pinned; the placement holds exactly the view's members and never ends with a hole.
func TestNextPlacementProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	next := 0
	var members []string
	var placement []string
	holesLeft := 0
	for step := 0; step < 3000; step++ {
		prev := slices.Clone(placement)
		// random departures and joins
		var view []string
		for _, m := range members {
			if rng.Intn(6) != 0 {
				view = append(view, m)
			}
		}
		var joiners []string
		for j := rng.Intn(3); j > 0; j-- {
			next++
			joiners = append(joiners, fmt.Sprintf("m%d", next))
		}
		view = append(view, joiners...)
		members = view
		pins := map[string]bool{}
		for _, m := range prev {
			if m != "" && rng.Intn(4) == 0 {
				pins[m] = true
			}
		}
		placement = NextPlacement(prev, view, func(m string) bool { return pins[m] })
		var held []string
		for _, m := range placement {
			if m != "" {
				held = append(held, m)
			}
		}
		if len(held) != len(view) || len(placement) > 0 && placement[len(placement)-1] == "" {
			t.Fatalf("step %d: placement %v for view %v", step, placement, view)
		}
		for _, m := range view {
			if !slices.Contains(placement, m) {
				t.Fatalf("step %d: %s missing from %v", step, m, placement)
			}
		}
		departed := 0 // positions to fill: departures and holes left earlier
		for _, m := range prev {
			if m == "" || !slices.Contains(view, m) {
				departed++
			}
		}
		moved := 0
		for i, m := range placement {
			if j := slices.Index(prev, m); m != "" && j >= 0 && j != i {
				moved++
				if pins[m] {
					t.Fatalf("step %d: pinned %s moved from %d to %d (prev %v, next %v)", step, m, j, i, prev, placement)
				}
				if prev[i] != "" && slices.Contains(view, prev[i]) {
					t.Fatalf("step %d: %s moved onto %s, who stayed", step, m, prev[i])
				}
			}
		}
		if moved > departed {
			t.Fatalf("step %d: %d moved for %d departures", step, moved, departed)
		}
		for i, m := range placement {
			if m != "" {
				continue
			}
			holesLeft++
			if i < len(prev) && slices.Contains(view, prev[i]) {
				t.Fatalf("step %d: hole at %d where %s stayed", step, i, prev[i])
			}
			for _, j := range joiners {
				if slices.Index(placement, j) > i {
					t.Fatalf("step %d: joiner %s appended while hole %d stayed (%v)", step, j, i, placement)
				}
			}
			if last := placement[len(placement)-1]; !pins[last] && !slices.Contains(joiners, last) {
				t.Fatalf("step %d: hole %d stayed though the tail %s was not pinned (%v)", step, i, last, placement)
			}
		}
	}
	if holesLeft == 0 {
		t.Fatal("no hole was ever left: the pinned path was not exercised")
	}
}
