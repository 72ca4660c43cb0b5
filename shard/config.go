package shard

import (
	"errors"
	"fmt"
)

// Policy is a maxmemory eviction policy, named as in Redis's maxmemory-policy.
type Policy string

// The supported eviction policies. The LFU policies of Redis are not implemented.
const (
	PolicyNoEviction     Policy = "noeviction"
	PolicyAllKeysLRU     Policy = "allkeys-lru"
	PolicyAllKeysRandom  Policy = "allkeys-random"
	PolicyVolatileLRU    Policy = "volatile-lru"
	PolicyVolatileRandom Policy = "volatile-random"
	PolicyVolatileTTL    Policy = "volatile-ttl"
)

// DefaultEvictionSamples is Redis's default maxmemory-samples.
const DefaultEvictionSamples = 5

// MaxEvictionSamples bounds EvictionSamples (Redis caps the eviction pool at 16; 64 is generous).
const MaxEvictionSamples = 64

// Errors returned by Config.Validate and SetMaxMemory.
var (
	ErrBadPolicy    = errors.New("shard: unknown eviction policy")
	ErrBadMemory    = errors.New("shard: negative maxmemory")
	ErrBadSamples   = errors.New("shard: eviction samples out of range")
	ErrBadValuesMin = errors.New("shard: negative ValuesMinBytes")
)

// Config configures a Store. The zero value is valid: no memory limit, noeviction, 5 samples.
type Config struct {
	MaxMemoryBytes  int64  // 0 = no limit (default)
	EvictionPolicy  Policy // default noeviction
	EvictionSamples int    // maxmemory-samples; default 5
	Seed            uint64 // seeds the deterministic eviction sampler
	// Values, when set, keeps string values outside the store (the manual's persistence methods; see
	// values.go): the store keeps the handle Values.Write returns. nil (default): values in memory.
	Values ValueStore
	// ValuesMinBytes: only string values of at least this many bytes go to Values. Default 0 (all).
	ValuesMinBytes int
}

func (p Policy) valid() bool {
	switch p {
	case "", PolicyNoEviction, PolicyAllKeysLRU, PolicyAllKeysRandom,
		PolicyVolatileLRU, PolicyVolatileRandom, PolicyVolatileTTL:
		return true
	}
	return false
}

func (p Policy) volatile() bool {
	return p == PolicyVolatileLRU || p == PolicyVolatileRandom || p == PolicyVolatileTTL
}

// Validate reports every problem of the configuration, joined with errors.Join.
func (c Config) Validate() error {
	var errs []error
	if c.MaxMemoryBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: %d", ErrBadMemory, c.MaxMemoryBytes))
	}
	if !c.EvictionPolicy.valid() {
		errs = append(errs, fmt.Errorf("%w: %q", ErrBadPolicy, c.EvictionPolicy))
	}
	if c.ValuesMinBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: %d", ErrBadValuesMin, c.ValuesMinBytes))
	}
	if c.EvictionSamples < 0 || c.EvictionSamples > MaxEvictionSamples {
		errs = append(errs, fmt.Errorf("%w: %d (want 0..%d)", ErrBadSamples, c.EvictionSamples, MaxEvictionSamples))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.EvictionPolicy == "" {
		c.EvictionPolicy = PolicyNoEviction
	}
	if c.EvictionSamples == 0 {
		c.EvictionSamples = DefaultEvictionSamples
	}
	return c
}
