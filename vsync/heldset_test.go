package vsync

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHeldSetModel checks heldSet against a map under random sets, removes, lookups and trims, with
// indices mostly near the window and some far beyond maxHeldSpan.
func TestHeldSetModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		var h heldSet
		h.lo = 1
		model := map[uint64]*entry{}
		lo := uint64(1)
		for step := 0; step < 5000; step++ {
			idx := lo + uint64(rng.IntN(300))
			if rng.IntN(50) == 0 {
				idx = lo + maxHeldSpan + uint64(rng.IntN(10))
			}
			switch op := rng.IntN(10); {
			case op < 5:
				e := &entry{}
				h.set(idx, e)
				model[idx] = e
			case op < 7:
				h.remove(idx)
				delete(model, idx)
			case op < 8:
				lo += uint64(rng.IntN(40))
				h.trim(lo)
				for k := range model {
					if k < lo {
						delete(model, k)
					}
				}
			default:
				if got := h.get(idx); got != model[idx] {
					t.Fatalf("seed %d step %d: get(%d) = %p, want %p", seed, step, idx, got, model[idx])
				}
			}
			if step%500 == 0 {
				var want []uint64
				for k := range model {
					want = append(want, k)
				}
				slices.Sort(want)
				if got := h.keys(); !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: keys %v, want %v", seed, step, got, want)
				}
			}
		}
	}
}
