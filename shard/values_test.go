package shard

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/vsdb/vsdb/shard/difftest"
)

// refCounts returns how many entries hold a ValueStore handle, and how many string values of at
// least minBytes stayed in memory.
func refCounts(s *Store, minBytes int) (refs, inMemory int) {
	for _, e := range s.dict {
		switch {
		case e.ref:
			refs++
		case e.kind == kindString && len(e.str) >= minBytes:
			inMemory++
		}
	}
	return refs, inMemory
}

// TestValuesIndirectionIsInvisible runs the differential generator's commands (every string and key
// command vsdb has) against a plain store and one that keeps its values in a MemoryValues: every reply,
// the digest and the export must be the same, every long value must live in the ValueStore, and no
// value may stay behind there (overwrites, DEL, RENAME, expiry, FLUSHALL delete theirs).
func TestValuesIndirectionIsInvisible(t *testing.T) {
	for _, minBytes := range []int{0, 6} {
		for seed := int64(1); seed <= 12; seed++ {
			t.Run(fmt.Sprintf("min%d/seed%d", minBytes, seed), func(t *testing.T) {
				mv := NewMemoryValues()
				plain := NewStore(Config{})
				valued := NewStore(Config{Values: mv, ValuesMinBytes: minBytes})
				r := rand.New(rand.NewSource(seed))
				now := int64(baseMs)
				for i, args := range difftest.Generate(r, 3000) {
					now += int64(r.Intn(20))
					want := plain.Exec(nil, args, now)
					got := valued.Exec(nil, args, now)
					if !bytes.Equal(want, got) {
						t.Fatalf("command #%d %q: plain %q, with values %q", i, args, want, got)
					}
					if r.Intn(50) == 0 {
						plain.ActiveExpire(now, 20)
						valued.ActiveExpire(now, 20)
					}
				}
				checkInvariants(t, valued)
				if plain.Digest(now) != valued.Digest(now) {
					t.Fatal("digests differ")
				}
				refs, inMemory := refCounts(valued, minBytes)
				if st := mv.Stats(); st.Live != refs || inMemory != 0 || refs == 0 {
					t.Fatalf("value store holds %d values, entries hold %d handles, %d long values in memory", st.Live, refs, inMemory)
				}
				if st := mv.Stats(); st.Reads == 0 || st.Deletes == 0 {
					t.Fatalf("the run never read or deleted through the value store: %+v", st)
				}
				// The export (a joiner's state transfer) reads through the value store; an import into
				// another valued store gives the same data.
				mv2 := NewMemoryValues()
				joiner := NewStore(Config{Values: mv2, ValuesMinBytes: minBytes})
				for slot := range uint16(SlotCount) {
					valued.ExportSlot(slot, now, func(cmd [][]byte) { joiner.Exec(nil, cmd, ImportNowMs) })
				}
				if joiner.Digest(now) != valued.Digest(now) {
					t.Fatal("the import of the export has another digest")
				}
				if mv2.Stats().Live == 0 {
					t.Fatal("the joiner kept no value in its value store")
				}
				valued.Discard()
				joiner.Discard()
				if l, l2 := mv.Stats().Live, mv2.Stats().Live; l != 0 || l2 != 0 {
					t.Fatalf("after Discard the value stores still hold %d and %d values", l, l2)
				}
			})
		}
	}
}

// refusingValues is a MemoryValues whose writes of one key fail.
type refusingValues struct {
	*MemoryValues
	key string
}

func (r *refusingValues) Write(key, value []byte) ([]byte, error) {
	if string(key) == r.key {
		return nil, fmt.Errorf("write of %q refused", key)
	}
	return r.MemoryValues.Write(key, value)
}

// TestValuesWriteErrorKeepsValueInMemory: a refused write leaves the value in memory, the reply
// unchanged, and is counted.
func TestValuesWriteErrorKeepsValueInMemory(t *testing.T) {
	mv := NewMemoryValues()
	refusing := &refusingValues{MemoryValues: mv, key: "k"}
	s := NewStore(Config{Values: refusing})
	if got := string(s.Exec(nil, splitCmd(t, "SET k hello"), baseMs)); got != "+OK\r\n" {
		t.Fatalf("SET = %q", got)
	}
	s.Exec(nil, splitCmd(t, "SET other v"), baseMs)
	if got := string(s.Exec(nil, splitCmd(t, "GET k"), baseMs)); got != bulk("hello") {
		t.Fatalf("GET = %q", got)
	}
	if s.Stats().ValueWriteErrors != 1 || mv.Stats().Live != 1 {
		t.Fatalf("write errors %d, values held %d", s.Stats().ValueWriteErrors, mv.Stats().Live)
	}
	refusing.key = ""
	s.Exec(nil, splitCmd(t, "APPEND k !"), baseMs) // the next change writes it out
	if refs, _ := refCounts(s, 0); refs != 2 || mv.Stats().Live != 2 {
		t.Fatalf("handles %d, values held %d", refs, mv.Stats().Live)
	}
	checkInvariants(t, s)
}

// TestValuesMemoryEstimateIgnoresHandles: the memory estimate of a value kept outside is the same
// whatever its handle, so replicas whose value stores hand out different handles evict alike.
func TestValuesMemoryEstimateIgnoresHandles(t *testing.T) {
	a := NewStore(Config{Values: NewMemoryValues()})
	mv := NewMemoryValues()
	for range 1000 {
		h, _ := mv.Write([]byte("x"), []byte("y")) // another sequence of handles
		_ = mv.Delete([]byte("x"), h)
	}
	b := NewStore(Config{Values: mv})
	big := bytes.Repeat([]byte("v"), 1000)
	for i := range 50 {
		args := [][]byte{[]byte("SET"), []byte(fmt.Sprint("key", i)), big}
		a.Exec(nil, args, baseMs)
		b.Exec(nil, args, baseMs)
	}
	if ua, ub := a.Stats().UsedMemoryBytes, b.Stats().UsedMemoryBytes; ua != ub || ua >= 50*1000 {
		t.Fatalf("used memory %d and %d (want equal, and below the values' 50,000 bytes)", ua, ub)
	}
}
