package dht

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vsdb/vsdb/shard"
)

// clock is an injected, manually advanced clock.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() int64      { return c.ms.Load() }
func (c *clock) advance(d int64) { c.ms.Add(d) }
func newClock() *clock           { c := &clock{}; c.ms.Store(1_700_000_000_000); return c }
func args(s ...string) (out [][]byte) {
	for _, a := range s {
		out = append(out, []byte(a))
	}
	return out
}

func newLocal(t *testing.T, c *clock) *Local {
	t.Helper()
	d, err := NewLocal(Config{NowMs: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConfig(t *testing.T) {
	if _, err := NewLocal(Config{Store: shard.Config{EvictionPolicy: "bogus"}}); !errors.Is(err, ErrBadConfig) || !errors.Is(err, shard.ErrBadPolicy) {
		t.Fatalf("NewLocal(bad policy) = %v", err)
	}
	d, err := NewLocal(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(context.Background(), []byte("k"), []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d := newLocal(t, c)
	tests := []struct {
		cmd  []string
		want string
	}{
		{[]string{"SET", "k", "v", "PX", "100"}, "+OK\r\n"},
		{[]string{"get", "k"}, "$1\r\nv\r\n"},
		{[]string{"PTTL", "k"}, ":100\r\n"},
		{[]string{"INCR", "k"}, "-ERR value is not an integer or out of range\r\n"},
	}
	for _, tc := range tests {
		got, err := d.Do(ctx, nil, args(tc.cmd...))
		if err != nil || string(got) != tc.want {
			t.Fatalf("Do(%q) = %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
	c.advance(101)
	if got, _ := d.Do(ctx, []byte("prefix:"), args("GET", "k")); string(got) != "prefix:$-1\r\n" {
		t.Fatalf("after expiry: %q", got)
	}
	if _, err := d.Do(ctx, nil, args("MULTI")); !errors.Is(err, ErrNotDataCommand) {
		t.Fatalf("Do(MULTI) = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Do(cctx, nil, args("GET", "k")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do(cancelled) = %v", err)
	}
	if !d.Handles([]byte("hgetall")) || d.Handles([]byte("ping")) {
		t.Fatal("Handles")
	}
}

func TestTypedAPI(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d := newLocal(t, c)
	if _, ok, err := d.Get(ctx, []byte("k")); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	if err := d.Put(ctx, []byte("k\x00"), []byte("v\xff"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := d.Get(ctx, []byte("k\x00")); !ok || err != nil || string(v) != "v\xff" {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	c.advance(2001)
	if _, ok, _ := d.Get(ctx, []byte("k\x00")); ok {
		t.Fatal("Put's TTL not applied")
	}
	if err := d.Put(ctx, []byte("k"), []byte("v"), -time.Second); !errors.Is(err, ErrBadTTL) {
		t.Fatalf("Put(negative ttl) = %v", err)
	}
	if n, err := d.Incr(ctx, []byte("n"), 41); n != 41 || err != nil {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	if n, err := d.Incr(ctx, []byte("n"), 9223372036854775807); err == nil {
		t.Fatalf("Incr overflow = %d", n)
	} else {
		var re *ReplyError
		if !errors.As(err, &re) || re.Msg != "ERR increment or decrement would overflow" {
			t.Fatalf("Incr overflow error = %#v", err)
		}
	}
	if n, err := d.HSet(ctx, []byte("h"), []byte("a"), []byte("1"), []byte("b"), []byte("2")); n != 2 || err != nil {
		t.Fatalf("HSet = %d, %v", n, err)
	}
	if v, ok, err := d.HGet(ctx, []byte("h"), []byte("b")); !ok || err != nil || string(v) != "2" {
		t.Fatalf("HGet = %q %v %v", v, ok, err)
	}
	if _, _, err := d.Get(ctx, []byte("h")); err == nil || err.Error() != "WRONGTYPE Operation against a key holding the wrong kind of value" {
		t.Fatalf("Get(hash) = %v", err)
	}
	if _, err := d.HSet(ctx, []byte("h"), []byte("odd")); err == nil {
		t.Fatal("HSet with an odd field list succeeded")
	}
	if ok, err := d.Remove(ctx, []byte("h")); !ok || err != nil {
		t.Fatalf("Remove = %v %v", ok, err)
	}
	if ok, err := d.Remove(ctx, []byte("h")); ok || err != nil {
		t.Fatalf("Remove again = %v %v", ok, err)
	}
	d.Close()
	if _, _, err := d.Get(ctx, []byte("k")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
}

func TestWatchAndDoAtomic(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d := newLocal(t, c)
	exec := func(watches []Watch) string {
		t.Helper()
		out, err := d.DoAtomic(ctx, nil, [][][]byte{args("INCR", "n"), args("GET", "n"), args("HSET", "n", "f", "v")}, watches)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	w, err := d.Watch(ctx, []byte("n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := exec([]Watch{w}); got != "*3\r\n:1\r\n$1\r\n1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" {
		t.Fatalf("EXEC = %q", got)
	}
	// the EXEC itself modified n: an old watch now fails
	if got := exec([]Watch{w}); got != "*-1\r\n" {
		t.Fatalf("EXEC with a stale watch = %q", got)
	}
	// expiry counts as a modification
	d.Do(ctx, nil, args("SET", "e", "v", "PX", "50"))
	we, _ := d.Watch(ctx, []byte("e"))
	c.advance(51)
	if got := exec([]Watch{we}); got != "*-1\r\n" {
		t.Fatalf("EXEC after the watched key expired = %q", got)
	}
	// an unrelated write does not abort
	w2, _ := d.Watch(ctx, []byte("n"))
	d.Do(ctx, nil, args("SET", "other", "v"))
	if got := exec([]Watch{w2}); got[:2] != "*3" {
		t.Fatalf("EXEC after an unrelated write = %q", got)
	}
	if _, err := d.DoAtomic(ctx, nil, [][][]byte{args("PING")}, nil); !errors.Is(err, ErrNotDataCommand) {
		t.Fatalf("DoAtomic(PING) = %v", err)
	}
}

func TestTickAndStats(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d := newLocal(t, c)
	for i := range 10 {
		d.Do(ctx, nil, args("SET", string(rune('a'+i)), "v", "PX", "10"))
	}
	if st := d.Stats(); st.Keys != 10 || st.KeysWithExpiry != 10 {
		t.Fatalf("Stats = %+v", st)
	}
	c.advance(11)
	if err := d.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Keys != 0 || st.ExpiredKeys != 10 {
		t.Fatalf("after Tick: %+v", st)
	}
}

// TestConcurrentIncr: the mutex serializes operations (run with -race).
func TestConcurrentIncr(t *testing.T) {
	ctx := context.Background()
	d := newLocal(t, newClock())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				if _, err := d.Incr(ctx, []byte("n"), 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, err := d.Incr(ctx, []byte("n"), 0); n != 1000 || err != nil {
		t.Fatalf("n = %d, %v", n, err)
	}
}

func BenchmarkLocalDo(b *testing.B) {
	ctx := context.Background()
	d, _ := NewLocal(Config{})
	d.Do(ctx, nil, args("SET", "key", "value"))
	get := args("GET", "key")
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = d.Do(ctx, dst[:0], get)
	}
}

// TestDoAtomicOOM: like Redis's EXEC, a batch with a growing write is refused whole over maxmemory,
// and commands inside an admitted batch are not re-checked.
func TestDoAtomicOOM(t *testing.T) {
	ctx := context.Background()
	d, err := NewLocal(Config{Store: shard.Config{MaxMemoryBytes: 200}, NowMs: newClock().now})
	if err != nil {
		t.Fatal(err)
	}
	big := string(make([]byte, 100))
	out, _ := d.DoAtomic(ctx, nil, [][][]byte{args("SET", "a", big), args("SET", "b", big)}, nil)
	if string(out[:4]) != "*2\r\n" || string(out[len(out)-10:]) != "+OK\r\n+OK\r\n" {
		t.Fatalf("admitted batch = %q", out)
	}
	out, _ = d.DoAtomic(ctx, nil, [][][]byte{args("GET", "a"), args("SET", "c", "v")}, nil)
	if string(out) != "-OOM command not allowed when used memory > 'maxmemory'.\r\n" {
		t.Fatalf("batch over maxmemory = %q", out)
	}
	out, _ = d.DoAtomic(ctx, nil, [][][]byte{args("DEL", "a"), args("EXISTS", "b")}, nil)
	if string(out) != "*2\r\n:1\r\n:1\r\n" {
		t.Fatalf("batch without growing writes = %q", out)
	}
}
