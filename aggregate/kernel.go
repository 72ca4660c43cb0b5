package aggregate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// ErrBadSpec reports an aggregate specification that cannot run; ErrBadPartial a partial that does
// not decode.
var (
	ErrBadSpec    = errors.New("aggregate: bad specification")
	ErrBadPartial = errors.New("aggregate: malformed partial")
)

// Kind names an aggregate.
type Kind string

// The aggregates.
const (
	Count   Kind = "count"
	Sum     Kind = "sum"
	Min     Kind = "min"
	Max     Kind = "max"
	Avg     Kind = "avg"
	TopK    Kind = "topk"    // the K largest values with their keys
	BottomK Kind = "bottomk" // the K smallest values with their keys
	// Distinct estimates the number of distinct values with a HyperLogLog of 2^12 registers: standard
	// error 1.04/√4096 ≈ 1.6% (exact, by linear counting, while few registers are set).
	Distinct Kind = "distinct"
	// Quantile estimates the Q-quantile (0 ≤ Q ≤ 1) with a log-bucket sketch (DDSketch's): the answer is
	// within a relative error of QuantileRelErr of a value whose rank is the Q-quantile's.
	Quantile Kind = "quantile"
	// CustomKind is an aggregator registered with RegisterCustom, named by Spec.Name.
	CustomKind Kind = "custom"
)

// MaxK bounds K of top-k and bottom-k.
const MaxK = 1000

// Spec is one aggregate of a query: Kind, and K for top-k/bottom-k.
type Spec struct {
	Kind Kind    `json:"kind"`
	K    int     `json:"k,omitempty"`
	Q    float64 `json:"q,omitempty"`    // quantile: 0..1 (0.5 = median)
	Name string  `json:"name,omitempty"` // custom: the registered aggregator
}

// Validate reports a spec that cannot run.
func (s Spec) Validate() error {
	switch s.Kind {
	case Count, Sum, Min, Max, Avg, Distinct:
		return nil
	case CustomKind:
		if _, ok := customOf(s.Name); !ok {
			return fmt.Errorf("%w: no custom aggregator %q is registered", ErrBadSpec, s.Name)
		}
		return nil
	case Quantile:
		if !(s.Q >= 0 && s.Q <= 1) {
			return fmt.Errorf("%w: quantile q = %v, want 0..1", ErrBadSpec, s.Q)
		}
		return nil
	case TopK, BottomK:
		if s.K < 1 || s.K > MaxK {
			return fmt.Errorf("%w: %s k = %d, want 1..%d", ErrBadSpec, s.Kind, s.K, MaxK)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown aggregate %q (count, sum, min, max, avg, topk, bottomk, distinct, quantile)", ErrBadSpec, s.Kind)
}

// Entry is one (key, value) of a top-k or bottom-k result.
type Entry struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
}

/*
State is the partial state of one aggregate: every kernel is a commutative, associative merge of
states, so a result does not depend on how partials were grouped or in which order they were combined
(the aggregation tree may combine them in any shape), and each input must be added exactly once.

  - count: N; sum: Sum (N counts the values); min/max: Lo/Hi (valid when N > 0); avg: Sum/N.
  - top-k/bottom-k: the K best entries, ties broken by key, so that merging is deterministic.
*/
type State struct {
	N       int64
	Sum     float64
	Lo, Hi  float64
	Entries []Entry
	Regs    []byte          // distinct: the HyperLogLog registers (hllRegisters), nil until the first value
	Buckets map[int32]int64 // quantile: values per log bucket (see quantile.go)
	Custom  []byte          // custom: the registered aggregator's state
}

// Add adds one value (with its key, for top-k/bottom-k).
func (st *State) Add(s Spec, key string, v float64) {
	if st.N == 0 || v < st.Lo {
		st.Lo = v
	}
	if st.N == 0 || v > st.Hi {
		st.Hi = v
	}
	st.N++
	st.Sum += v
	if s.Kind == TopK || s.Kind == BottomK {
		st.Entries = append(st.Entries, Entry{Key: key, Value: v})
		st.trim(s)
	}
	if s.Kind == Distinct {
		st.hllAdd(v)
	}
	if s.Kind == Quantile {
		st.sketchAdd(v)
	}
	if s.Kind == CustomKind {
		if c, ok := customOf(s.Name); ok {
			st.Custom = c.Add(st.Custom, key, v)
		}
	}
}

// Merge adds another partial state of the same spec.
func (st *State) Merge(s Spec, o State) {
	if o.N == 0 {
		return
	}
	if st.N == 0 || o.Lo < st.Lo {
		st.Lo = o.Lo
	}
	if st.N == 0 || o.Hi > st.Hi {
		st.Hi = o.Hi
	}
	st.N += o.N
	st.Sum += o.Sum
	if s.Kind == TopK || s.Kind == BottomK {
		st.Entries = append(st.Entries, o.Entries...)
		st.trim(s)
	}
	if s.Kind == CustomKind {
		if c, ok := customOf(s.Name); ok {
			st.Custom = c.Merge(st.Custom, o.Custom)
		}
	}
	if s.Kind == Quantile {
		for b, c := range o.Buckets {
			if st.Buckets == nil {
				st.Buckets = map[int32]int64{}
			}
			st.Buckets[b] += c
		}
	}
	if s.Kind == Distinct && o.Regs != nil {
		if st.Regs == nil {
			st.Regs = make([]byte, hllRegisters)
		}
		for i, r := range o.Regs {
			st.Regs[i] = max(st.Regs[i], r)
		}
	}
}

// better orders entries for top-k (larger first) or bottom-k (smaller first); ties by key.
func better(s Spec, a, b Entry) bool {
	if a.Value != b.Value {
		if s.Kind == TopK {
			return a.Value > b.Value
		}
		return a.Value < b.Value
	}
	return a.Key < b.Key
}

func (st *State) trim(s Spec) {
	if len(st.Entries) <= s.K && len(st.Entries) < 2*MaxK {
		return
	}
	sort.Slice(st.Entries, func(i, j int) bool { return better(s, st.Entries[i], st.Entries[j]) })
	if len(st.Entries) > s.K {
		st.Entries = st.Entries[:s.K]
	}
}

// Result is the aggregate's answer: a number (count, sum, min, max, avg; nil for min/max/avg of no
// values) or the ordered entries (top-k, bottom-k).
func (st *State) Result(s Spec) any {
	switch s.Kind {
	case Count:
		return st.N
	case Sum:
		return st.Sum
	case Min:
		if st.N == 0 {
			return nil
		}
		return st.Lo
	case Max:
		if st.N == 0 {
			return nil
		}
		return st.Hi
	case Avg:
		if st.N == 0 {
			return nil
		}
		return st.Sum / float64(st.N)
	case Distinct:
		return st.hllEstimate()
	case Quantile:
		if st.N == 0 {
			return nil
		}
		return st.sketchQuantile(s.Q)
	case CustomKind:
		if c, ok := customOf(s.Name); ok {
			return c.Result(st.Custom)
		}
		return nil
	case TopK, BottomK:
		out := slices.Clone(st.Entries)
		sort.Slice(out, func(i, j int) bool { return better(s, out[i], out[j]) })
		if len(out) > s.K {
			out = out[:s.K]
		}
		if out == nil {
			out = []Entry{}
		}
		return out
	}
	return nil
}

// Groups holds the states of every aggregate per group ("" when the query has no group-by).
type Groups struct {
	Specs []Spec
	By    map[string][]State
	// recent caches group name → states for AddBytes (a scan looks up a group per key; a direct-mapped
	// table on a cheap hash of the name is several times cheaper than the map). Only a cache: By is the
	// truth, and a slice in By never moves (states are updated in place).
	recent *[groupCacheSize]groupCacheEntry
}

// groupCacheSize is the number of entries of Groups.recent (a power of two).
const groupCacheSize = 1024

type groupCacheEntry struct {
	name string
	sts  []State
}

// fnv1a is FNV-1a over b (the group cache's hash).
func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// NewGroups returns empty groups for specs.
func NewGroups(specs []Spec) *Groups { return &Groups{Specs: specs, By: map[string][]State{}} }

// Add adds one value of key to group g; it reports false when the group is new and maxGroups are held.
func (gs *Groups) Add(g, key string, v float64, maxGroups int) bool {
	sts, ok := gs.By[g]
	if !ok {
		if maxGroups > 0 && len(gs.By) >= maxGroups {
			return false
		}
		sts = make([]State, len(gs.Specs))
		gs.By[g] = sts
	}
	for i, s := range gs.Specs {
		sts[i].Add(s, key, v)
	}
	return true
}

// AddBytes is Add with the group name as bytes: it copies the name only for a new group (the scan
// path, where the name points into the store).
func (gs *Groups) AddBytes(g []byte, key string, v float64, maxGroups int) bool {
	if gs.recent == nil {
		gs.recent = new([groupCacheSize]groupCacheEntry)
	}
	ce := &gs.recent[fnv1a(g)&(groupCacheSize-1)]
	sts := ce.sts
	if sts == nil || ce.name != string(g) {
		var ok bool
		sts, ok = gs.By[string(g)]
		if !ok {
			if maxGroups > 0 && len(gs.By) >= maxGroups {
				return false
			}
			sts = make([]State, len(gs.Specs))
			gs.By[string(g)] = sts
		}
		ce.name, ce.sts = string(g), sts
	}
	for i, s := range gs.Specs {
		sts[i].Add(s, key, v)
	}
	return true
}

// Merge merges another Groups of the same specs.
func (gs *Groups) Merge(o *Groups) {
	for g, osts := range o.By {
		sts, ok := gs.By[g]
		if !ok {
			sts = make([]State, len(gs.Specs))
		}
		for i, s := range gs.Specs {
			sts[i].Merge(s, osts[i])
		}
		gs.By[g] = sts
	}
}

// Names returns the group names in order.
func (gs *Groups) Names() []string {
	out := make([]string, 0, len(gs.By))
	for g := range gs.By {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Encode appends the binary form of the states (not the specs: both ends know them).
func (gs *Groups) Encode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(gs.By)))
	for _, g := range gs.Names() {
		dst = appendString(dst, g)
		for _, st := range gs.By[g] {
			dst = binary.AppendVarint(dst, st.N)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(st.Sum))
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(st.Lo))
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(st.Hi))
			dst = binary.AppendUvarint(dst, uint64(len(st.Entries)))
			for _, e := range st.Entries {
				dst = appendString(dst, e.Key)
				dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.Value))
			}
			dst = binary.AppendUvarint(dst, uint64(len(st.Regs)))
			dst = append(dst, st.Regs...)
			dst = binary.AppendUvarint(dst, uint64(len(st.Buckets)))
			for _, b := range sortedBuckets(st.Buckets) {
				dst = binary.AppendVarint(dst, int64(b))
				dst = binary.AppendVarint(dst, st.Buckets[b])
			}
			dst = appendString(dst, string(st.Custom))
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > limit {
		r.err = ErrBadPartial
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrBadPartial
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) f64() float64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = ErrBadPartial
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) str() string {
	n := r.uvarint(uint64(len(r.b)))
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = ErrBadPartial
	}
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// DecodeGroups decodes the states written by Encode for specs.
func DecodeGroups(specs []Spec, b []byte) (*Groups, error) {
	gs := NewGroups(specs)
	r := &reader{b: b}
	n := r.uvarint(uint64(len(b)))
	for i := uint64(0); i < n && r.err == nil; i++ {
		g := r.str()
		sts := make([]State, len(specs))
		for j := range sts {
			sts[j].N = r.varint()
			sts[j].Sum, sts[j].Lo, sts[j].Hi = r.f64(), r.f64(), r.f64()
			m := r.uvarint(2 * MaxK)
			for k := uint64(0); k < m && r.err == nil; k++ {
				sts[j].Entries = append(sts[j].Entries, Entry{Key: r.str(), Value: r.f64()})
			}
			if regs := r.str(); len(regs) > 0 {
				if len(regs) != hllRegisters {
					r.err = ErrBadPartial
				}
				sts[j].Regs = []byte(regs)
			}
			nb := r.uvarint(maxBuckets)
			for k := uint64(0); k < nb && r.err == nil; k++ {
				b, c := r.varint(), r.varint()
				if b < math.MinInt32 || b > math.MaxInt32 || c < 0 {
					r.err = ErrBadPartial
					break
				}
				if sts[j].Buckets == nil {
					sts[j].Buckets = map[int32]int64{}
				}
				sts[j].Buckets[int32(b)] += c
			}
			if cs := r.str(); len(cs) > 0 {
				if len(cs) > MaxCustomStateBytes {
					r.err = ErrBadPartial
				}
				sts[j].Custom = []byte(cs)
			}
		}
		gs.By[g] = sts
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrBadPartial
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w (%d bytes)", r.err, len(b))
	}
	return gs, nil
}

// KeySegment returns segment i (0-based) of key split by sep, or "" when it has fewer.
func KeySegment(key string, sep string, i int) string {
	if i < 0 {
		return ""
	}
	rest := key
	for ; i > 0; i-- {
		_, after, found := strings.Cut(rest, sep)
		if !found {
			return ""
		}
		rest = after
	}
	seg, _, _ := strings.Cut(rest, sep)
	return seg
}
