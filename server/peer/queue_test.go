package peer

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// frameQueue against a naive slice model: random pushes and batch pops, checking bounds, order and the
// batch size rule.
func TestFrameQueueModel(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		maxFrames, maxBytes := 1+rng.IntN(40), 1+rng.IntN(2000)
		q := newFrameQueue(maxFrames, maxBytes)
		var model [][]byte
		modelBytes := 0
		next := byte(0)
		for step := range 2000 {
			if rng.IntN(3) > 0 {
				p := make([]byte, rng.IntN(300))
				if len(p) > 0 {
					p[0] = next
				}
				fits := len(model) < maxFrames && (len(model) == 0 || modelBytes+len(p) <= maxBytes)
				if got := q.push(p); got != fits {
					t.Fatalf("seed %d step %d: push(%d bytes) = %v, model says %v", seed, step, len(p), got, fits)
				}
				if fits {
					model = append(model, p)
					modelBytes += len(p)
					next++
				}
			} else {
				limit, cost := rng.IntN(1000), rng.IntN(20)
				batch := q.popBatch(nil, limit, cost)
				var want [][]byte
				total := 0
				for _, p := range model {
					if len(want) > 0 && total+len(p)+cost > limit {
						break
					}
					total += len(p) + cost
					want = append(want, p)
				}
				if len(batch) != len(want) {
					t.Fatalf("seed %d step %d: batch of %d, model %d", seed, step, len(batch), len(want))
				}
				for i := range batch {
					if len(batch[i]) != len(want[i]) || (len(batch[i]) > 0 && batch[i][0] != want[i][0]) {
						t.Fatalf("seed %d step %d: batch[%d] differs from the model", seed, step, i)
					}
				}
				model = slices.Clone(model[len(want):])
				modelBytes = 0
				for _, p := range model {
					modelBytes += len(p)
				}
			}
			if q.len() != len(model) || q.bytes != modelBytes {
				t.Fatalf("seed %d step %d: queue %d frames %d bytes, model %d %d", seed, step, q.len(), q.bytes, len(model), modelBytes)
			}
		}
		if n := q.clear(); n != len(model) || q.len() != 0 || q.bytes != 0 {
			t.Fatalf("seed %d: clear dropped %d of %d", seed, n, len(model))
		}
	}
}
