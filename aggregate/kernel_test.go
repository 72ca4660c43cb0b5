package aggregate

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"testing"
)

// TestMergeMatchesOnePass: adding values into random partials, merged in a random order and shape,
// gives the same results as one pass over all values (the naive model), for every kernel; and the
// encoding round-trips partials.
func TestMergeMatchesOnePass(t *testing.T) {
	specs := []Spec{{Kind: Count}, {Kind: Sum}, {Kind: Min}, {Kind: Max}, {Kind: Avg}, {Kind: TopK, K: 3}, {Kind: BottomK, K: 2},
		{Kind: Distinct}}
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 200; round++ {
		n := rng.Intn(60)
		type kv struct {
			g, k string
			v    float64
		}
		var in []kv
		for i := 0; i < n; i++ {
			in = append(in, kv{fmt.Sprint("g", rng.Intn(4)), fmt.Sprint("k", i), float64(rng.Intn(21) - 10)})
		}
		one := NewGroups(specs)
		for _, x := range in {
			one.Add(x.g, x.k, x.v, 0)
		}
		parts := make([]*Groups, 1+rng.Intn(5))
		for i := range parts {
			parts[i] = NewGroups(specs)
		}
		for _, x := range in {
			parts[rng.Intn(len(parts))].Add(x.g, x.k, x.v, 0)
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		for len(parts) > 1 { // combine random pairs: any tree shape
			i := rng.Intn(len(parts) - 1)
			b, err := DecodeGroups(specs, parts[i+1].Encode(nil))
			if err != nil {
				t.Fatal(err)
			}
			parts[i].Merge(b)
			parts = append(parts[:i+1], parts[i+2:]...)
		}
		for _, g := range one.Names() {
			for si, s := range specs {
				want, got := one.By[g][si].Result(s), parts[0].By[g][si].Result(s)
				if f, ok := want.(float64); ok && s.Kind == Avg {
					if math.Abs(f-got.(float64)) > 1e-9 {
						t.Fatalf("round %d group %s %s: %v, want %v", round, g, s.Kind, got, want)
					}
					continue
				}
				if !reflect.DeepEqual(want, got) {
					t.Fatalf("round %d group %s %s: %v, want %v", round, g, s.Kind, got, want)
				}
			}
		}
		if len(one.By) != len(parts[0].By) {
			t.Fatalf("round %d: %d groups, want %d", round, len(parts[0].By), len(one.By))
		}
		// the naive model of top-k itself: sort everything
		for _, g := range one.Names() {
			var vals []Entry
			for _, x := range in {
				if x.g == g {
					vals = append(vals, Entry{x.k, x.v})
				}
			}
			sort.Slice(vals, func(i, j int) bool {
				if vals[i].Value != vals[j].Value {
					return vals[i].Value > vals[j].Value
				}
				return vals[i].Key < vals[j].Key
			})
			if len(vals) > 3 {
				vals = vals[:3]
			}
			if got := one.By[g][5].Result(specs[5]); !reflect.DeepEqual(got, vals) {
				t.Fatalf("topk %v, want %v", got, vals)
			}
		}
	}
}

func TestDecodeGroupsRejectsGarbage(t *testing.T) {
	specs := []Spec{{Kind: Sum}}
	gs := NewGroups(specs)
	gs.Add("a", "k", 1, 0)
	b := gs.Encode(nil)
	for i := 0; i < len(b); i++ {
		if _, err := DecodeGroups(specs, b[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
	if _, err := DecodeGroups(specs, append(b, 1)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestMaxGroups(t *testing.T) {
	gs := NewGroups([]Spec{{Kind: Count}})
	if !gs.Add("a", "k", 1, 1) || gs.Add("b", "k", 1, 1) || !gs.Add("a", "k2", 1, 1) {
		t.Fatal("max groups not applied")
	}
}

// FuzzDecodeGroups: no input panics the decoder, and what decodes re-encodes to a decodable form.
func FuzzDecodeGroups(f *testing.F) {
	specs := []Spec{{Kind: Sum}, {Kind: TopK, K: 2}}
	gs := NewGroups(specs)
	gs.Add("a", "k", 1, 0)
	f.Add(gs.Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if g, err := DecodeGroups(specs, b); err == nil {
			if _, err := DecodeGroups(specs, g.Encode(nil)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestDistinctWithinBound: the estimate of n distinct values (added in several partials, with
// duplicates) is within 4 standard errors (4 × 1.6%) of n, and exact-ish for small n.
func TestDistinctWithinBound(t *testing.T) {
	s := Spec{Kind: Distinct}
	for _, n := range []int{0, 1, 10, 100, 1000, 50000, 300000} {
		parts := make([]State, 4)
		for i := 0; i < n; i++ {
			parts[i%4].Add(s, "", float64(i))
			parts[(i+1)%4].Add(s, "", float64(i)) // every value twice
		}
		var total State
		for _, p := range parts {
			total.Merge(s, p)
		}
		got := total.Result(s).(int64)
		tol := math.Max(1, 4*0.01625*float64(n))
		if math.Abs(float64(got-int64(n))) > tol {
			t.Fatalf("distinct of %d values estimated %d (tolerance %.0f)", n, got, tol)
		}
		t.Logf("n=%d estimate=%d", n, got)
	}
}

// TestQuantileWithinBound: the sketch's q-quantile over values split into partials is within the
// relative error bound of the exact value of that rank.
func TestQuantileWithinBound(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.99, 1} {
		s := Spec{Kind: Quantile, Q: q}
		var vals []float64
		parts := make([]State, 3)
		for i := 0; i < 20000; i++ {
			v := math.Exp(rng.NormFloat64()*3) * float64(1-2*(i%5/4)) // spread over magnitudes, some negative
			vals = append(vals, v)
			parts[i%3].Add(s, "", v)
		}
		var total State
		for _, p := range parts {
			b, err := DecodeGroups([]Spec{s}, (&Groups{Specs: []Spec{s}, By: map[string][]State{"": {p}}}).Encode(nil))
			if err != nil {
				t.Fatal(err)
			}
			total.Merge(s, b.By[""][0])
		}
		sort.Float64s(vals)
		want := vals[int(q*float64(len(vals)-1))]
		got := total.Result(s).(float64)
		if math.Abs(got-want) > QuantileRelErr*math.Abs(want)+1e-9 {
			t.Fatalf("q=%v: %v, exact %v (relative error %.4f)", q, got, want, math.Abs(got-want)/math.Abs(want))
		}
	}
}

// TestCustomAggregator registers a custom aggregator (a product of the values, state as 8 bytes) and
// checks it merges like the built-in kernels, survives the partial encoding, and refuses bad input.
func TestCustomAggregator(t *testing.T) {
	prod := Custom{
		Add: func(st []byte, _ string, v float64) []byte {
			p := 1.0
			if st != nil {
				p = math.Float64frombits(binary.LittleEndian.Uint64(st))
			}
			return binary.LittleEndian.AppendUint64(nil, math.Float64bits(p*v))
		},
		Merge: func(a, b []byte) []byte {
			switch {
			case a == nil:
				return b
			case b == nil:
				return a
			}
			x := math.Float64frombits(binary.LittleEndian.Uint64(a)) * math.Float64frombits(binary.LittleEndian.Uint64(b))
			return binary.LittleEndian.AppendUint64(nil, math.Float64bits(x))
		},
		Result: func(st []byte) any {
			if st == nil {
				return 1.0
			}
			return math.Float64frombits(binary.LittleEndian.Uint64(st))
		},
	}
	if err := RegisterCustom("product", prod); err != nil {
		t.Fatal(err)
	}
	if err := RegisterCustom("product", prod); err == nil {
		t.Fatal("a second registration under one name was accepted")
	}
	if err := RegisterCustom("broken", Custom{}); err == nil {
		t.Fatal("a registration without functions was accepted")
	}
	s := Spec{Kind: CustomKind, Name: "product"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Spec{Kind: CustomKind, Name: "nope"}).Validate(); err == nil {
		t.Fatal("an unregistered custom aggregator validated")
	}
	a, b := NewGroups([]Spec{s}), NewGroups([]Spec{s})
	for i, v := range []float64{2, 3, 5, 7} {
		if i%2 == 0 {
			a.Add("", "k", v, 0)
		} else {
			b.Add("", "k", v, 0)
		}
	}
	bb, err := DecodeGroups([]Spec{s}, b.Encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Merge(bb)
	if got := a.By[""][0].Result(s); got != 210.0 {
		t.Fatalf("product = %v, want 210", got)
	}
}
