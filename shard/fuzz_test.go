package shard

import (
	"bytes"
	"strconv"
	"testing"
)

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "007", "9223372036854775807", "-9223372036854775808", "9223372036854775808", " 1", "+1", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseInt([]byte(s))
		canonical := false
		if w, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(w, 10) == s {
			canonical = true
			if ok && v != w {
				t.Fatalf("parseInt(%q) = %d, strconv %d", s, v, w)
			}
		}
		if ok != canonical {
			t.Fatalf("parseInt(%q) ok=%v, canonical decimal int64=%v", s, ok, canonical)
		}
	})
}

func FuzzParseLongDouble(f *testing.F) {
	for _, s := range []string{"10.50", "0.1", "1e3", "-0", "inf", "0x1p3", ".5", "5.", "1e", "nan", "1e5000", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseLongDouble([]byte(s))
		if !ok || v.IsInf() {
			return
		}
		// the formatted value parses again (a replica re-reading the stored string)
		out := appendLongDouble(nil, v)
		if _, ok := parseLongDouble(out); !ok {
			t.Fatalf("%q → %q does not parse", s, out)
		}
	})
}

// FuzzExec feeds arbitrary argument vectors (NUL-separated, first byte picks a command) and checks that
// the store never panics, always answers one well-formed reply, and keeps its invariants.
func FuzzExec(f *testing.F) {
	f.Add([]byte("\x03k\x00v\x00EX\x0010"))
	f.Add([]byte("\x10h\x00f\x00v"))
	f.Add([]byte("\x15k\x00 1"))
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	// map iteration order is random: sort for a stable corpus meaning
	sortStrings(names)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		st := NewStore(Config{MaxMemoryBytes: 4000, EvictionPolicy: PolicyAllKeysLRU})
		for i, chunk := range bytes.Split(data[1:], []byte{0xfe}) {
			args := [][]byte{[]byte(names[int(data[0])%len(names)])}
			args = append(args, bytes.Split(chunk, []byte{0})...)
			out := st.Exec(nil, args, baseMs+int64(i)*700)
			if len(out) < 3 || !bytes.HasSuffix(out, []byte("\r\n")) {
				t.Fatalf("%q: reply %q", args, out)
			}
			checkInvariants(t, st)
		}
	})
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
