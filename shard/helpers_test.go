package shard

import (
	"strconv"
	"strings"
	"testing"
)

// splitCmd splits a test command line into arguments: whitespace-separated words, or Go-quoted strings
// ("a b", "\x00") for anything else.
func splitCmd(t testing.TB, line string) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; i < len(line); {
		switch {
		case line[i] == ' ':
			i++
		case line[i] == '"':
			j := i + 1
			for ; j < len(line); j++ {
				if line[j] == '\\' {
					j++
					continue
				}
				if line[j] == '"' {
					break
				}
			}
			s, err := strconv.Unquote(line[i : j+1])
			if err != nil {
				t.Fatalf("bad quoted arg in %q: %v", line, err)
			}
			out = append(out, []byte(s))
			i = j + 1
		default:
			j := strings.IndexByte(line[i:], ' ')
			if j < 0 {
				j = len(line) - i
			}
			out = append(out, []byte(line[i:i+j]))
			i += j
		}
	}
	return out
}

// step is one command and its exact expected RESP reply, at a time offset (ms) from the test's base.
type step struct {
	atMs int64
	cmd  string
	want string
}

const baseMs = 1_700_000_000_000

// runSteps executes steps on a fresh store (or st) checking every reply and the invariants.
func runSteps(t *testing.T, st *Store, steps []step) *Store {
	t.Helper()
	if st == nil {
		st = NewStore(Config{})
	}
	for i, s := range steps {
		got := string(st.Exec(nil, splitCmd(t, s.cmd), baseMs+s.atMs))
		if got != s.want {
			t.Fatalf("step %d %q at +%dms:\n got %q\nwant %q", i, s.cmd, s.atMs, got, s.want)
		}
		checkInvariants(t, st)
	}
	return st
}

// Reply builders.
func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }
func ierr(s string) string { return "-" + s + "\r\n" }
func num(n int64) string   { return ":" + strconv.FormatInt(n, 10) + "\r\n" }
func arr(elems ...string) string {
	return "*" + strconv.Itoa(len(elems)) + "\r\n" + strings.Join(elems, "")
}

const (
	ok    = "+OK\r\n"
	null  = "$-1\r\n"
	empty = "$0\r\n\r\n"
	wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
	nint  = "-ERR value is not an integer or out of range\r\n"
	synt  = "-ERR syntax error\r\n"
)

// checkInvariants verifies the Store's structural invariants (see the Store comment).
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	keys := 0
	var used int64
	var vol [SlotCount]uint32
	onLists := 0
	for slot := range s.slotHead {
		occ := s.occupied[slot/64]&(1<<(slot%64)) != 0
		if (s.slotLen[slot] > 0) != occ {
			t.Fatalf("slot %d: length %d, occupied bit %v", slot, s.slotLen[slot], occ)
		}
		n := uint32(0)
		var prev *entry
		for e := s.slotHead[slot]; e != nil; e = e.slotNext {
			if e.slotPrev != prev {
				t.Fatalf("slot %d: entry %q has a wrong back link", slot, e.key)
			}
			if s.dict[e.key] != e {
				t.Fatalf("slot %d: listed entry %q is not the map's", slot, e.key)
			}
			prev = e
			n++
		}
		if n != s.slotLen[slot] {
			t.Fatalf("slot %d: list holds %d entries, slotLen %d", slot, n, s.slotLen[slot])
		}
		onLists += int(n)
	}
	if onLists != len(s.dict) {
		t.Fatalf("%d entries on slot lists, %d in the map", onLists, len(s.dict))
	}
	{
		for k, e := range s.dict {
			keys++
			slot := int(e.slot)
			if e.key != k || KeySlot([]byte(k)) != e.slot {
				t.Fatalf("entry %q misplaced (e.slot %d)", k, e.slot)
			}
			if e.size != e.computeSize() {
				t.Fatalf("entry %q: size %d, computed %d", k, e.size, e.computeSize())
			}
			used += e.size
			if (e.expireMs != 0) != (e.heapIdx >= 0) {
				t.Fatalf("entry %q: expire %d heapIdx %d", k, e.expireMs, e.heapIdx)
			}
			if e.heapIdx >= 0 && s.expiry[e.heapIdx] != e {
				t.Fatalf("entry %q: heap position wrong", k)
			}
			if e.expireMs != 0 {
				vol[slot]++
			}
			if e.kind == kindHash {
				h := e.hash
				if h.len() == 0 {
					t.Fatalf("empty hash %q stored", k)
				}
				if (h.idx == nil) != h.listpack || (h.lp == nil) == h.listpack && h.n > 0 || h.listpack && h.fields != nil {
					t.Fatalf("hash %q: listpack %v idx %v lp %v fields %v", k, h.listpack, h.idx != nil, h.lp != nil, h.fields != nil)
				}
				var b int64
				pairs := 0
				for f, v := range h.all() {
					b += int64(len(f)+len(v)) + fieldOverheadBytes
					if !h.listpack && h.idx[string(f)] != pairs {
						t.Fatalf("hash %q: idx of %q wrong", k, f)
					}
					pairs++
				}
				if pairs != h.n || !h.listpack && (len(h.fields) != h.n || len(h.idx) != h.n) {
					t.Fatalf("hash %q: n %d, %d pairs", k, h.n, pairs)
				}
				if b != h.bytes {
					t.Fatalf("hash %q: bytes %d, computed %d", k, h.bytes, b)
				}
			}
		}
	}
	if keys != s.keys || used != s.usedBytes {
		t.Fatalf("keys %d (counted %d), used %d (summed %d)", s.keys, keys, s.usedBytes, used)
	}
	for i := range s.expiry {
		if i > 0 && heapLess(s.expiry[i], s.expiry[(i-1)/2]) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	for slot := range vol {
		if vol[slot] != s.volBySlot[slot] || (vol[slot] > 0) != (s.volOccupied[slot/64]&(1<<(slot%64)) != 0) {
			t.Fatalf("slot %d: volatile count %d, recorded %d", slot, vol[slot], s.volBySlot[slot])
		}
	}
}
