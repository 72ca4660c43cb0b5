package dht

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/vsdb/vsdb/shard"
)

// TestSplitMergeMatchesOneStore runs multi-key commands split over ns shard stores and merged, and
// compares each reply with the same command on one store holding everything (the naive model).
func TestSplitMergeMatchesOneStore(t *testing.T) {
	const ns = 4
	const now = 1_700_000_000_000
	one := shard.NewStore(shard.Config{})
	parts := make([]*shard.Store, ns)
	for i := range parts {
		parts[i] = shard.NewStore(shard.Config{})
	}
	b := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, x := range s {
			out[i] = []byte(x)
		}
		return out
	}
	var cmds [][][]byte
	for i := 0; i < 30; i++ {
		cmds = append(cmds, b("mset", fmt.Sprint("k", i), fmt.Sprint(i), fmt.Sprint("j", i), "x"))
	}
	cmds = append(cmds,
		b("mget", "k1", "k2", "nope", "j3", "k1"),
		b("exists", "k1", "k2", "k2", "zz", "j9"),
		b("del", "k1", "j1", "k5", "zz"),
		b("touch", "k2", "k3", "gone"),
		b("unlink", "k7", "j8"),
		b("dbsize"),
		b("keys", "k1*"),
		b("mget", "k1", "k2"),
		b("flushall"),
		b("dbsize"),
	)
	for _, cmd := range cmds {
		want := string(one.Exec(nil, cmd, now))
		replies := map[int][]byte{}
		for s := 0; s < ns; s++ {
			if p := PartFor(cmd, s, ns); p != nil {
				replies[s] = parts[s].Exec(nil, p, now)
			}
		}
		got := string(MergeReply(nil, cmd, ns, replies))
		if string(cmd[0]) == "keys" {
			// order differs between one store and the merge: compare as sets
			wv, _ := parseReply([]byte(want))
			gv, _ := parseReply([]byte(got))
			if len(wv.Array) != len(gv.Array) || len(gv.Array) == 0 {
				t.Fatalf("%q: %q, want %q", cmd, got, want)
			}
			continue
		}
		if got != want {
			t.Fatalf("%q: merged %q, one store %q", cmd, got, want)
		}
	}
}

func TestShardsOfAndCanSplit(t *testing.T) {
	ns := 3
	if got := ShardsOf([][]byte{[]byte("dbsize")}, ns); len(got) != ns {
		t.Fatalf("keyless: %v", got)
	}
	if got := ShardsOf([][]byte{[]byte("get"), []byte("{x}a")}, ns); len(got) != 1 {
		t.Fatalf("get: %v", got)
	}
	if got := ShardsOf([][]byte{[]byte("mset"), []byte("{x}a"), []byte("1"), []byte("{x}b"), []byte("2")}, ns); len(got) != 1 {
		t.Fatalf("one hash tag: %v", got)
	}
	if CanSplit([][]byte{[]byte("rename"), []byte("a"), []byte("b")}) || !CanSplit([][]byte{[]byte("MGET")}) {
		t.Fatal("CanSplit")
	}
}

// TestSplitMalformed: a multi-key command with a broken key/value list goes whole to one shard (whose
// store answers Redis's arity error) instead of being cut.
func TestSplitMalformed(t *testing.T) {
	args := [][]byte{[]byte("mset"), []byte("a"), []byte("1"), []byte("b")}
	shards := ShardsOf(args, 4)
	if len(shards) != 1 {
		t.Fatalf("ShardsOf = %v", shards)
	}
	n := 0
	for s := 0; s < 4; s++ {
		if p := PartFor(args, s, 4); p != nil {
			n++
			if r := shard.NewStore(shard.Config{}).Exec(nil, p, 0); string(r) != "-ERR wrong number of arguments for 'mset' command\r\n" {
				t.Fatalf("reply %q", r)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d shards got a part", n)
	}
}

// FuzzSplit: any command (as the RESP layer passes it: a name and arguments) goes through ShardsOf,
// PartFor, each shard's store and MergeReply without a panic, and a command that touches one shard is
// answered exactly as one store answers it.
func FuzzSplit(f *testing.F) {
	f.Add("mset", "a\x00b\x00c")
	f.Add("mget", "a\x00{x}b\x00c")
	f.Add("object", "encoding\x00k")
	f.Add("scan", "0\x00count\x00x")
	f.Add("del", "")
	f.Fuzz(func(t *testing.T, name, rest string) {
		args := [][]byte{[]byte(name)}
		if rest != "" {
			for _, a := range bytes.Split([]byte(rest), []byte{0}) {
				args = append(args, a)
			}
		}
		if len(args) > 64 || !shard.NewStore(shard.Config{}).Handles(args[0]) {
			return
		}
		const ns = 3
		shards := ShardsOf(args, ns)
		if len(shards) > 1 && !CanSplit(args) {
			return // refused by the server with ErrCrossShard
		}
		replies := map[int][]byte{}
		for s := 0; s < ns; s++ {
			if p := PartFor(args, s, ns); p != nil {
				replies[s] = shard.NewStore(shard.Config{}).Exec(nil, p, 1)
			}
		}
		for _, s := range shards {
			if _, ok := replies[s]; !ok {
				t.Fatalf("%q: shard %d is touched but got no part", args, s)
			}
		}
		got := MergeReply(nil, args, ns, replies)
		if len(shards) == 1 && !IsKeyless(args[0]) {
			if want := shard.NewStore(shard.Config{}).Exec(nil, args, 1); string(got) != string(want) {
				t.Fatalf("%q: merged %q, one store %q", args, got, want)
			}
		}
	})
}

// TestSlotCommandsGoToTheSlotsShard: CLUSTER COUNTKEYSINSLOT/GETKEYSINSLOT run whole at the shard that
// owns their slot argument; bad arguments go to shard 0, whose answer is the error.
func TestSlotCommandsGoToTheSlotsShard(t *testing.T) {
	const ns = 4
	for _, slot := range []int{0, 4095, 4096, 9000, 16383} {
		want := ShardOfSlot(uint16(slot), ns)
		for _, args := range [][][]byte{
			{[]byte("CLUSTER"), []byte("countkeysinslot"), []byte(strconv.Itoa(slot))},
			{[]byte("cluster"), []byte("GETKEYSINSLOT"), []byte(strconv.Itoa(slot)), []byte("10")},
		} {
			if got := ShardsOf(args, ns); len(got) != 1 || got[0] != want {
				t.Fatalf("ShardsOf(%q) = %v, want [%d]", args, got, want)
			}
			for s := 0; s < ns; s++ {
				if part := PartFor(args, s, ns); (part != nil) != (s == want) {
					t.Fatalf("PartFor(%q, %d) = %q", args, s, part)
				}
			}
		}
	}
	st := shard.NewStore(shard.Config{})
	for _, bad := range [][]string{{"cluster", "countkeysinslot", "16384"}, {"cluster", "getkeysinslot", "5", "-2"}} {
		args := make([][]byte, len(bad))
		for i, a := range bad {
			args[i] = []byte(a)
		}
		if got := ShardsOf(args, ns); len(got) != 1 || got[0] != 0 {
			t.Fatalf("ShardsOf(%q) = %v, want [0]", bad, got)
		}
		if out := execSlotCommand(st, nil, args, 0); len(out) == 0 || out[0] != '-' {
			t.Fatalf("execSlotCommand(%q) = %q, want an error", bad, out)
		}
	}
	if IsSlotCommand([][]byte{[]byte("cluster"), []byte("slots")}) || IsSlotCommand([][]byte{[]byte("get"), []byte("countkeysinslot")}) {
		t.Fatal("IsSlotCommand accepted another command")
	}
}

// TestRoutingAllocations: routing a single-key command allocates only ShardsOf's result, and the
// split checks allocate nothing (they run for every command at the originator and every replica).
func TestRoutingAllocations(t *testing.T) {
	args := [][]byte{[]byte("SET"), []byte("key:1"), []byte("v")}
	mset := [][]byte{[]byte("mset"), []byte("{x}a"), []byte("1"), []byte("{y}b"), []byte("2")}
	r := DefaultRouter(4)
	if n := testing.AllocsPerRun(100, func() { _ = r.ShardsOf(args) }); n > 1 {
		t.Errorf("ShardsOf(SET): %v allocations, want at most 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = splitWellFormed(mset), CanSplit(mset) }); n != 0 {
		t.Errorf("splitWellFormed+CanSplit(MSET): %v allocations, want 0", n)
	}
}
