package aggregate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Query is an aggregation query (POST /v1/query, docs/query.md). The selection is Keys, or Match, or
// Slots, or (none of them) every key; each selected key whose value extracts to a number (and passes
// Where) is added to the aggregates of its group.
type Query struct {
	Keys  []string `json:"keys,omitempty"`  // explicit keys
	Match string   `json:"match,omitempty"` // a glob pattern, as KEYS
	Slots [][2]int `json:"slots,omitempty"` // inclusive slot ranges

	Value      Value    `json:"value"`                // how to read a number from a key
	Where      *Range   `json:"where,omitempty"`      // keep values in [Min, Max]
	GroupBy    *GroupBy `json:"group_by,omitempty"`   // none: one group ""
	Aggregates []Spec   `json:"aggregates"`           // at least one
	MaxGroups  int      `json:"max_groups,omitempty"` // default DefaultMaxGroups

	Consistency string `json:"consistency,omitempty"` // "cut" (default) or "local"
	TimeoutMs   int    `json:"timeout_ms,omitempty"`  // the query's deadline; default the server's
}

// Value reads a number from a key: the hash field Field, or (Field empty) the string value.
type Value struct {
	Field string `json:"field,omitempty"`
}

// Range keeps values v with Min ≤ v ≤ Max (a missing bound is open).
type Range struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// GroupBy names a key's group: the hash field Field, or the key's segment Segment (0-based) split by
// Sep (default ":").
type GroupBy struct {
	Field   string `json:"field,omitempty"`
	Segment *int   `json:"segment,omitempty"`
	Sep     string `json:"sep,omitempty"`
}

// Limits of a query.
const (
	DefaultMaxGroups = 10000
	MaxMaxGroups     = 1000000
	MaxAggregates    = 32
	MaxKeys          = 100000
	MaxSlotRanges    = 16384
)

// Validate reports every problem of the query at once.
func (q *Query) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	sel := 0
	for _, set := range []bool{len(q.Keys) > 0, q.Match != "", len(q.Slots) > 0} {
		if set {
			sel++
		}
	}
	if sel > 1 {
		bad("give one selection: keys, match or slots")
	}
	if len(q.Keys) > MaxKeys {
		bad("%d keys, at most %d", len(q.Keys), MaxKeys)
	}
	if len(q.Slots) > MaxSlotRanges {
		bad("%d slot ranges, at most %d", len(q.Slots), MaxSlotRanges)
	}
	for _, r := range q.Slots {
		if r[0] < 0 || r[1] > 16383 || r[0] > r[1] {
			bad("slot range %v is not within 0..16383", r)
		}
	}
	if len(q.Aggregates) == 0 || len(q.Aggregates) > MaxAggregates {
		bad("%d aggregates, want 1 to %d", len(q.Aggregates), MaxAggregates)
	}
	for _, s := range q.Aggregates {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if q.GroupBy != nil {
		if (q.GroupBy.Field == "") == (q.GroupBy.Segment == nil) {
			bad("group_by needs exactly one of field and segment")
		}
		if q.GroupBy.Segment != nil && *q.GroupBy.Segment < 0 {
			bad("group_by segment %d is negative", *q.GroupBy.Segment)
		}
	}
	if q.MaxGroups < 0 || q.MaxGroups > MaxMaxGroups {
		bad("max_groups %d, want 0..%d", q.MaxGroups, MaxMaxGroups)
	}
	if q.Consistency != "" && q.Consistency != "cut" && q.Consistency != "local" {
		bad("consistency %q, want cut or local", q.Consistency)
	}
	if q.TimeoutMs < 0 {
		bad("timeout_ms %d is negative", q.TimeoutMs)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadSpec, errors.Join(errs...))
	}
	return nil
}

// Groups returns MaxGroups or its default.
func (q *Query) Groups() int {
	if q.MaxGroups == 0 {
		return DefaultMaxGroups
	}
	return q.MaxGroups
}

// Number parses a value the way INCRBYFLOAT reads one: a decimal or exponent form, finite.
func Number(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 64 {
		return 0, false
	}
	// Fast path: a decimal integer of up to 15 digits is exact in a float64.
	if len(b) <= 15 {
		neg := b[0] == '-'
		digits := b
		if neg {
			digits = b[1:]
		}
		if len(digits) > 0 {
			var n int64
			for _, c := range digits {
				if c < '0' || c > '9' {
					goto slow
				}
				n = n*10 + int64(c-'0')
			}
			if neg {
				if n == 0 {
					goto slow // "-0" is the float -0
				}
				n = -n
			}
			return float64(n), true
		}
	}
slow:
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// Keep reports whether v passes the filter.
func (r *Range) Keep(v float64) bool {
	if r == nil {
		return true
	}
	return (r.Min == nil || v >= *r.Min) && (r.Max == nil || v <= *r.Max)
}
