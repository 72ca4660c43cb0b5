package shard

import (
	"strconv"
	"testing"
)

func BenchmarkExecGet(b *testing.B) {
	st := NewStore(Config{})
	for i := range 10000 {
		st.Exec(nil, [][]byte{[]byte("SET"), []byte("key:" + strconv.Itoa(i)), []byte("value-of-some-length")}, baseMs)
	}
	args := [][]byte{[]byte("GET"), []byte("key:1234")}
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = st.Exec(dst[:0], args, baseMs)
	}
}

func BenchmarkExecSet(b *testing.B) {
	st := NewStore(Config{})
	args := [][]byte{[]byte("SET"), []byte("key:1234"), []byte("value-of-some-length")}
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = st.Exec(dst[:0], args, baseMs)
	}
}

func BenchmarkExecSetNewKeys(b *testing.B) {
	st := NewStore(Config{})
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	dst := make([]byte, 0, 128)
	val := []byte("value-of-some-length")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = st.Exec(dst[:0], [][]byte{[]byte("SET"), keys[i&(len(keys)-1)], val}, baseMs)
		i++
	}
}

func BenchmarkExecIncr(b *testing.B) {
	st := NewStore(Config{})
	args := [][]byte{[]byte("INCR"), []byte("counter")}
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = st.Exec(dst[:0], args, baseMs)
	}
}

// TestAllocs pins the allocation budget: Handles and GET of an existing key allocate nothing, SET of an
// existing key at most 2 (it reuses the buffer).
func TestAllocs(t *testing.T) {
	st := NewStore(Config{})
	st.Exec(nil, splitCmd(t, "SET key value"), baseMs)
	get := splitCmd(t, "GET key")
	set := splitCmd(t, "SET key other")
	dst := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { st.Handles([]byte("HINCRBYFLOAT")) }); n != 0 {
		t.Errorf("Handles: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { dst = st.Exec(dst[:0], get, baseMs) }); n != 0 {
		t.Errorf("GET: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { dst = st.Exec(dst[:0], set, baseMs) }); n > 2 {
		t.Errorf("SET: %v allocs", n)
	}
}
