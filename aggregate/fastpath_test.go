package aggregate

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"testing"
)

// TestNumberFastPath: Number agrees with strconv.ParseFloat (bit for bit) on integers, signs, zeros,
// leading zeros and non-numbers around the fast path's 15-digit limit.
func TestNumberFastPath(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	inputs := []string{"0", "-0", "+0", "007", "-007", "1", "-1", "+5", "-", "", "1e3", "1.5", " 1", "1 ", "12a",
		"999999999999999", "-999999999999999", "9999999999999999", "123456789012345678", "0x10", "1_000", "inf", "NaN"}
	for i := 0; i < 2000; i++ {
		inputs = append(inputs, strconv.FormatInt(rng.Int63n(1<<uint(rng.Intn(62)+1))-rng.Int63n(1000), 10))
	}
	for _, in := range inputs {
		got, gotOK := Number([]byte(in))
		want, err := strconv.ParseFloat(in, 64)
		wantOK := err == nil && !math.IsNaN(want) && !math.IsInf(want, 0)
		if gotOK != wantOK || (wantOK && math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("Number(%q) = %v %v, ParseFloat %v %v", in, got, gotOK, want, wantOK)
		}
	}
}

// TestAddBytesMatchesAdd: AddBytes (with its group cache) builds the same groups as Add, with many
// groups colliding in the cache and a group limit.
func TestAddBytesMatchesAdd(t *testing.T) {
	specs := []Spec{{Kind: Sum}, {Kind: Count}, {Kind: Max}}
	for _, maxGroups := range []int{0, 50, 3000} {
		rng := rand.New(rand.NewSource(int64(maxGroups) + 1))
		a, b := NewGroups(specs), NewGroups(specs)
		for i := 0; i < 50000; i++ {
			g := fmt.Sprint("g", rng.Intn(2500))
			k, v := fmt.Sprint("k", i), float64(rng.Intn(1000))
			if ra, rb := a.Add(g, k, v, maxGroups), b.AddBytes([]byte(g), k, v, maxGroups); ra != rb {
				t.Fatalf("add %d: Add %v, AddBytes %v", i, ra, rb)
			}
		}
		if fmt.Sprint(a.Encode(nil)) != fmt.Sprint(b.Encode(nil)) {
			t.Fatalf("maxGroups %d: the groups differ", maxGroups)
		}
	}
}
