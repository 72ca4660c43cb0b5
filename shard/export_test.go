package shard

import (
	"fmt"
	"testing"
)

// TestExportSlotRebuilds exports every slot of a store with strings, hashes and TTLs (one of them
// expired) and checks that Exec of the exported commands in an empty store gives the same digest.
func TestExportSlotRebuilds(t *testing.T) {
	const now = int64(1_700_000_000_000)
	src := NewStore(Config{})
	for i := 0; i < 300; i++ {
		k := []byte(fmt.Sprintf("k%d{t%d}", i, i%7))
		switch i % 4 {
		case 0:
			src.Exec(nil, [][]byte{[]byte("SET"), k, []byte(fmt.Sprint(i))}, now)
		case 1:
			src.Exec(nil, [][]byte{[]byte("SET"), k, []byte("v"), []byte("PX"), []byte(fmt.Sprint(1 + i))}, now)
		case 2:
			src.Exec(nil, [][]byte{[]byte("HSET"), k, []byte("b"), []byte("1"), []byte("a"), []byte(fmt.Sprint(i))}, now)
		case 3:
			src.Exec(nil, [][]byte{[]byte("HSET"), k, []byte("f"), []byte("x")}, now)
			src.Exec(nil, [][]byte{[]byte("PEXPIRE"), k, []byte(fmt.Sprint(5 + i))}, now)
		}
	}
	at := now + 100 // some TTLs have passed: those keys must not be exported
	dst := NewStore(Config{})
	n := 0
	for slot := 0; slot < SlotCount; slot++ {
		src.ExportSlot(uint16(slot), at, func(cmd [][]byte) {
			n++
			if r := dst.Exec(nil, cmd, ImportNowMs); r[0] == '-' {
				t.Fatalf("%q: %s", cmd, r)
			}
		})
	}
	if n == 0 {
		t.Fatal("nothing exported")
	}
	if a, b := src.Digest(at), dst.Digest(at); a != b {
		t.Fatalf("digest %x after rebuild, want %x", b, a)
	}
	if src.Digest(at) == NewStore(Config{}).Digest(at) {
		t.Fatal("the digest does not see the data")
	}
}
