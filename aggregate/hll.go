package aggregate

import (
	"math"
	"math/bits"
)

// HyperLogLog for Distinct: 2^hllBits registers, each the longest run of leading zeros (+1) seen in
// the hashes routed to it. Registers merge by maximum, so partials combine in any order. The estimate
// is Flajolet et al.'s, with linear counting below 2.5·m (exact enough for small sets).
const (
	hllBits      = 12
	hllRegisters = 1 << hllBits
)

// hash64 is splitmix64's finalizer over the value's bits (+0 and -0 are one value).
func hash64(v float64) uint64 {
	if v == 0 {
		v = 0
	}
	z := math.Float64bits(v) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (st *State) hllAdd(v float64) {
	if st.Regs == nil {
		st.Regs = make([]byte, hllRegisters)
	}
	h := hash64(v)
	idx := h >> (64 - hllBits)
	rank := byte(bits.LeadingZeros64(h<<hllBits|1<<(hllBits-1)) + 1)
	st.Regs[idx] = max(st.Regs[idx], rank)
}

func (st *State) hllEstimate() int64 {
	if st.Regs == nil {
		return 0
	}
	m := float64(hllRegisters)
	sum, zeros := 0.0, 0
	for _, r := range st.Regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	alpha := 0.7213 / (1 + 1.079/m)
	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return int64(math.Round(e))
}
