package aggregate

import (
	"errors"
	"fmt"
	"sync"
)

// Custom is an aggregator an embedding program registers (RegisterCustom). Its state is opaque bytes;
// the functions must be deterministic and Merge associative and commutative, with nil the empty state,
// so that a result does not depend on how partials were grouped (the same contract as the built-in
// kernels). Every node of a cluster must register the same aggregators under the same names.
type Custom struct {
	Add    func(state []byte, key string, v float64) []byte
	Merge  func(a, b []byte) []byte
	Result func(state []byte) any
}

// ErrCustom reports a bad registration.
var ErrCustom = errors.New("aggregate: custom aggregator")

// MaxCustomStateBytes bounds a custom aggregator's state in a decoded partial.
const MaxCustomStateBytes = 1 << 20

var customs sync.Map // name → Custom

// RegisterCustom registers c under name, used in queries as {"kind": "custom", "name": name}. It is
// process-wide (like database/sql drivers): register at start, before queries run.
func RegisterCustom(name string, c Custom) error {
	if name == "" || c.Add == nil || c.Merge == nil || c.Result == nil {
		return fmt.Errorf("%w: a name and Add, Merge and Result are required", ErrCustom)
	}
	if _, dup := customs.LoadOrStore(name, c); dup {
		return fmt.Errorf("%w: %q is already registered", ErrCustom, name)
	}
	return nil
}

func customOf(name string) (Custom, bool) {
	c, ok := customs.Load(name)
	if !ok {
		return Custom{}, false
	}
	return c.(Custom), true
}
