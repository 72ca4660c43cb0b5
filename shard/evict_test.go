package shard

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	err := Config{MaxMemoryBytes: -1, EvictionPolicy: "allkeys-lfu", EvictionSamples: 1000}.Validate()
	for _, want := range []error{ErrBadMemory, ErrBadPolicy, ErrBadSamples} {
		if !errors.Is(err, want) {
			t.Errorf("Validate() = %v, want it to include %v", err, want)
		}
	}
	st := NewStore(Config{})
	if err := st.SetMaxMemory(10, "bogus"); !errors.Is(err, ErrBadPolicy) {
		t.Fatalf("SetMaxMemory(bogus) = %v", err)
	}
}

const oomReply = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

func TestOOMNoEviction(t *testing.T) {
	st := NewStore(Config{MaxMemoryBytes: 1000})
	n := 0
	for ; n < 100; n++ {
		got := string(st.Exec(nil, [][]byte{[]byte("SET"), []byte(fmt.Sprintf("k%d", n)), []byte(strings.Repeat("v", 50))}, baseMs))
		if got == oomReply {
			break
		}
		if got != ok {
			t.Fatalf("SET = %q", got)
		}
	}
	if n == 100 || st.Stats().UsedMemoryBytes <= 1000 {
		t.Fatalf("never refused (n=%d, used %d)", n, st.Stats().UsedMemoryBytes)
	}
	// reads and deletes still work, and free memory
	if got := string(st.Exec(nil, splitCmd(t, "GET k0"), baseMs)); got != bulk(strings.Repeat("v", 50)) {
		t.Fatalf("GET = %q", got)
	}
	if got := string(st.Exec(nil, splitCmd(t, "APPEND k0 x"), baseMs)); got != oomReply {
		t.Fatalf("APPEND over maxmemory = %q", got)
	}
	st.Exec(nil, splitCmd(t, "DEL k0 k1 k2"), baseMs)
	if got := string(st.Exec(nil, splitCmd(t, "SET again v"), baseMs)); got != ok {
		t.Fatalf("SET after DEL = %q", got)
	}
	// expired keys are reclaimed before refusing
	st2 := NewStore(Config{MaxMemoryBytes: 500})
	for i := range 10 {
		st2.Exec(nil, [][]byte{[]byte("SET"), []byte(fmt.Sprintf("t%d", i)), []byte("v"), []byte("PX"), []byte("10")}, baseMs)
	}
	if got := string(st2.Exec(nil, splitCmd(t, "SET x v"), baseMs+11)); got != ok {
		t.Fatalf("SET with only expired keys over the limit = %q", got)
	}
	checkInvariants(t, st2)
}

// fill runs the same workload on a store: writes with TTLs on some keys, reads of the low keys (so they
// are recently used), time advancing by 1 ms per op.
func fill(st *Store) map[string]bool {
	written := map[string]bool{}
	for i := range 400 {
		now := int64(baseMs + i)
		args := [][]byte{[]byte("SET"), []byte(fmt.Sprintf("key:%d", i)), []byte(strings.Repeat("x", 40))}
		if i%3 == 0 {
			args = append(args, []byte("EX"), []byte(fmt.Sprint(1000-i)))
		}
		if string(st.Exec(nil, args, now)) == ok {
			written[string(args[1])] = true
		}
		st.Exec(nil, [][]byte{[]byte("GET"), []byte(fmt.Sprintf("key:%d", i%20))}, now)
	}
	return written
}

func TestEvictionPolicies(t *testing.T) {
	for _, p := range []Policy{PolicyAllKeysLRU, PolicyAllKeysRandom, PolicyVolatileLRU, PolicyVolatileRandom, PolicyVolatileTTL} {
		t.Run(string(p), func(t *testing.T) {
			a := NewStore(Config{MaxMemoryBytes: 8000, EvictionPolicy: p, Seed: 7})
			b := NewStore(Config{MaxMemoryBytes: 8000, EvictionPolicy: p, Seed: 7})
			written := fill(a)
			fill(b)
			checkInvariants(t, a)
			sa, sb := a.Stats(), b.Stats()
			if sa.EvictedKeys == 0 {
				t.Fatalf("nothing evicted: %+v", sa)
			}
			if sa != sb || a.Digest(baseMs+400) != b.Digest(baseMs+400) {
				t.Fatalf("same seed and ops, different result: %+v vs %+v", sa, sb)
			}
			if sa.UsedMemoryBytes > 8000+200 {
				t.Fatalf("used %d far over the limit", sa.UsedMemoryBytes)
			}
			switch p {
			case PolicyAllKeysLRU:
				// the 20 constantly read keys are the most recently used: sampled LRU keeps most of them,
				// random eviction does not
				hot := func(st *Store) (n int) {
					for i := range 20 {
						if st.find([]byte(fmt.Sprintf("key:%d", i))) != nil {
							n++
						}
					}
					return n
				}
				r := NewStore(Config{MaxMemoryBytes: 8000, EvictionPolicy: PolicyAllKeysRandom, Seed: 7})
				fill(r)
				if hot(a) < 8 || hot(a) < hot(r)+5 {
					t.Fatalf("allkeys-lru kept %d of 20 hot keys (allkeys-random: %d)", hot(a), hot(r))
				}
			case PolicyVolatileLRU, PolicyVolatileRandom, PolicyVolatileTTL:
				// only keys with a TTL go: every key without one is still there
				for i := range 400 {
					k := fmt.Sprintf("key:%d", i)
					if i%3 != 0 && written[k] && a.find([]byte(k)) == nil {
						t.Fatalf("%s evicted %s which has no TTL", p, k)
					}
				}
			}
			c := NewStore(Config{MaxMemoryBytes: 8000, EvictionPolicy: p, Seed: 8})
			fill(c)
			if p == PolicyAllKeysRandom && c.Digest(baseMs+400) == a.Digest(baseMs+400) {
				t.Fatalf("a different seed evicted exactly the same keys")
			}
		})
	}
}

func TestVolatileWithoutTTLKeysIsOOM(t *testing.T) {
	st := NewStore(Config{MaxMemoryBytes: 300, EvictionPolicy: PolicyVolatileLRU})
	for i := range 10 {
		st.Exec(nil, [][]byte{[]byte("SET"), []byte(fmt.Sprint(i)), []byte("v")}, baseMs)
	}
	if got := string(st.Exec(nil, splitCmd(t, "SET x v"), baseMs)); got != oomReply {
		t.Fatalf("SET = %q", got)
	}
	if err := st.SetMaxMemory(0, PolicyNoEviction); err != nil {
		t.Fatal(err)
	}
	if got := string(st.Exec(nil, splitCmd(t, "SET x v"), baseMs)); got != ok {
		t.Fatalf("SET without limit = %q", got)
	}
}
