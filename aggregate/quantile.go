package aggregate

import (
	"math"
	"slices"
)

/*
The quantile sketch (DDSketch's log buckets). A positive value v goes to bucket ⌈log_γ v⌉ with
γ = (1+α)/(1−α); negative values to the mirrored negative buckets; values with |v| < minIndexable to
bucket 0. Buckets merge by adding counts, so partials combine in any order. The answer for rank r is the
bucket's representative 2γ^i/(γ+1), within relative error α of every value in the bucket.
*/

// QuantileRelErr is α, the sketch's relative error bound.
const QuantileRelErr = 0.01

// maxBuckets bounds the buckets a decoded partial may hold (the range of float64 needs about 71,000
// at α = 1%, per sign).
const maxBuckets = 200000

var (
	gamma        = (1 + QuantileRelErr) / (1 - QuantileRelErr)
	logGamma     = math.Log(gamma)
	minIndexable = 1e-9
)

// bucketOf returns v's bucket: > 0 for positive values, < 0 for negative ones, 0 near zero.
func bucketOf(v float64) int32 {
	a := math.Abs(v)
	if a < minIndexable {
		return 0
	}
	i := int32(math.Ceil(math.Log(a/minIndexable)/logGamma)) + 1
	if v < 0 {
		return -i
	}
	return i
}

// bucketValue is the representative of bucket b.
func bucketValue(b int32) float64 {
	if b == 0 {
		return 0
	}
	i := b
	if i < 0 {
		i = -i
	}
	v := minIndexable * 2 * math.Pow(gamma, float64(i-1)) / (gamma + 1)
	if b < 0 {
		return -v
	}
	return v
}

func (st *State) sketchAdd(v float64) {
	if st.Buckets == nil {
		st.Buckets = map[int32]int64{}
	}
	st.Buckets[bucketOf(v)]++
}

func sortedBuckets(m map[int32]int64) []int32 {
	out := make([]int32, 0, len(m))
	for b := range m {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

// sketchQuantile returns the estimate of the q-quantile: the value of rank ⌊q·(N−1)⌋ (0-based).
func (st *State) sketchQuantile(q float64) float64 {
	var n int64
	for _, c := range st.Buckets {
		n += c
	}
	rank := int64(q * float64(n-1))
	var seen int64
	bs := sortedBuckets(st.Buckets)
	for _, b := range bs {
		seen += st.Buckets[b]
		if seen > rank {
			return bucketValue(b)
		}
	}
	return bucketValue(bs[len(bs)-1])
}
