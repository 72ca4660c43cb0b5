package shard

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
)

func TestKeyCommands(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"ttl lifecycle at injected times", []step{
			{0, "SET k v EX 10", ok},
			{0, "TTL k", num(10)},
			{1500, "TTL k", num(9)}, // 8500 ms rounds to 9
			{1500, "PTTL k", num(8500)},
			{0, "EXPIRETIME k", num((baseMs + 10000) / 1000)},
			{0, "PEXPIRETIME k", num(baseMs + 10000)},
			{10000, "GET k", bulk("v")}, // alive at the deadline (Redis: expired only when now > when)
			{10001, "GET k", null},
			{10001, "TTL k", num(-2)},
			{10001, "PEXPIRETIME k", num(-2)},
			{0, "SET p v", ok},
			{0, "TTL p", num(-1)},
			{0, "EXPIRETIME p", num(-1)},
			{0, "PERSIST p", num(0)},
			{0, "PEXPIRE p 5000", num(1)},
			{0, "PERSIST p", num(1)},
			{0, "TTL p", num(-1)},
			{0, "EXPIRE p -1", num(1)},
			{0, "EXISTS p", num(0)},
			{0, "EXPIRE missing 10", num(0)},
			{0, "SET q v", ok},
			{0, "EXPIREAT q 1", num(1)},
			{0, "GET q", null},
			{0, "SET q v PXAT " + strconv.FormatInt(baseMs+2000, 10), ok},
			{0, "PTTL q", num(2000)},
			{0, "SET q w KEEPTTL", ok},
			{0, "PTTL q", num(2000)},
			{0, "SET q w", ok},
			{0, "PTTL q", num(-1)},
		}},
		{"expire options", []step{
			{0, "SET k v", ok},
			{0, "EXPIRE k 100 XX", num(0)},
			{0, "EXPIRE k 100 GT", num(0)},
			{0, "EXPIRE k 100 LT", num(1)},
			{0, "EXPIRE k 50 NX", num(0)},
			{0, "EXPIRE k 200 GT", num(1)},
			{0, "EXPIRE k 300 LT", num(0)},
			{0, "EXPIRE k 150 LT XX", num(1)},
			{0, "TTL k", num(150)},
			{0, "EXPIRE k 10 NX XX", ierr("ERR NX and XX, GT or LT options at the same time are not compatible")},
			{0, "EXPIRE k 10 GT LT", ierr("ERR GT and LT options at the same time are not compatible")},
			{0, "EXPIRE k 10 foo", ierr("ERR Unsupported option foo")},
			{0, "EXPIRE k 9223372036854775807", ierr("ERR invalid expire time in 'expire' command")},
			{0, "EXPIRE k -9223372036854775808", ierr("ERR invalid expire time in 'expire' command")},
			{0, "PEXPIRE k 9223372036854775807", ierr("ERR invalid expire time in 'pexpire' command")},
			{0, "EXPIREAT k 9223372036854775807", ierr("ERR invalid expire time in 'expireat' command")},
			{0, "EXPIRE k abc", nint},
			{0, "PEXPIREAT k 9223372036854775807", num(1)},
			{0, "TTL k", num(9223372036854775807/1000 + 1 - baseMs/1000)},
		}},
		{"getex", []step{
			{0, "SET k v", ok},
			{0, "GETEX k EX 10", bulk("v")},
			{0, "TTL k", num(10)},
			{0, "GETEX k PERSIST", bulk("v")},
			{0, "TTL k", num(-1)},
			{0, "GETEX k PXAT " + strconv.FormatInt(baseMs, 10), bulk("v")}, // a deadline ≤ now deletes
			{0, "EXISTS k", num(0)},
			{0, "GETEX k", null},
		}},
		{"del exists touch type rename copy", []step{
			{0, "MSET a 1 b 2", ok},
			{0, "HSET h f v", num(1)},
			{0, "TYPE a", "+string\r\n"},
			{0, "TYPE h", "+hash\r\n"},
			{0, "TYPE none", "+none\r\n"},
			{0, "EXISTS a a b x", num(3)},
			{0, "TOUCH a x h", num(2)},
			{0, "DEL a x a", num(1)},
			{0, "UNLINK b", num(1)},
			{0, "RENAME x y", ierr("ERR no such key")},
			{0, "SET s v EX 100", ok},
			{0, "RENAME s t", ok},
			{0, "TTL t", num(100)},
			{0, "EXISTS s", num(0)},
			{0, "RENAME t t", ok},
			{0, "RENAMENX t t", num(0)},
			{0, "RENAMENX t h", num(0)},
			{0, "RENAME t h", ok},
			{0, "TYPE h", "+string\r\n"},
			{0, "HSET h2 f v", num(1)},
			{0, "COPY h2 h3", num(1)},
			{0, "COPY h2 h3", num(0)},
			{0, "HSET h2 g w", num(1)},
			{0, "COPY h2 h3 REPLACE", num(1)},
			{0, "HGETALL h3", arr(bulk("f"), bulk("v"), bulk("g"), bulk("w"))},
			{0, "COPY h2 h2", ierr("ERR source and destination objects are the same")},
			{0, "COPY h2 x DB 1", ierr("ERR DB index is out of range")},
			{0, "COPY h2 x DB 0", num(1)},
			{0, "COPY h2 y DB x", nint},
			{0, "COPY h2 y bogus", synt},
			{0, "COPY missing y", num(0)},
		}},
		{"keys dbsize flush", []step{
			{0, "MSET a 1 ab 2 b 3 {t}1 4 {t}2 5", ok},
			{0, `SET "" e`, ok},
			{0, "SET gone v PX 10", ok},
			{0, "KEYS a*", arr(bulk("ab"), bulk("a"))}, // slot order: slot("ab") < slot("a")
			{0, "KEYS {t}?", arr(bulk("{t}1"), bulk("{t}2"))},
			{0, `KEYS ""`, arr(bulk(""))},
			{0, "DBSIZE", num(7)},
			{20, "DBSIZE", num(6)},
			{20, "FLUSHALL bogus", synt},
			{20, "FLUSHDB ASYNC", ok},
			{20, "DBSIZE", num(0)},
			{20, "RANDOMKEY", null},
			{20, "SET a 1", ok},
			{20, "RANDOMKEY", bulk("a")},
			{20, "FLUSHALL SYNC", ok},
			{20, "KEYS *", arr()},
		}},
		{"scan errors", []step{
			{0, "SCAN x", ierr("ERR invalid cursor")},
			{0, `SCAN " 0"`, ierr("ERR invalid cursor")},
			{0, "SCAN 0 COUNT 0", synt},
			{0, "SCAN 0 COUNT x", nint},
			{0, "SCAN 0 bogus", synt},
			{0, "SCAN 0 MATCH", synt},
			{0, "SCAN 0", arr(bulk("0"), arr())},
			{0, "HSCAN h 0 TYPE string", arr(bulk("0"), arr())},
			{0, "HSET h f v", num(1)},
			{0, "HSCAN h 0 TYPE string", synt},
			{0, "HSCAN h x", ierr("ERR invalid cursor")},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, nil, tc.steps) })
	}
}

// TestScanWalk checks SCAN's guarantee: every key present for the whole iteration is returned, with
// keys added and removed between calls.
func TestScanWalk(t *testing.T) {
	st := NewStore(Config{})
	for i := range 500 {
		st.Exec(nil, [][]byte{[]byte("SET"), []byte("stable" + strconv.Itoa(i)), []byte("v")}, baseMs)
	}
	seen := map[string]bool{}
	cursor := "0"
	for round := 0; ; round++ {
		// churn: add and delete other keys between calls
		st.Exec(nil, [][]byte{[]byte("SET"), []byte(fmt.Sprintf("churn%d", round)), []byte("v")}, baseMs)
		st.Exec(nil, [][]byte{[]byte("DEL"), []byte(fmt.Sprintf("churn%d", round-3))}, baseMs)
		reply := st.Exec(nil, [][]byte{[]byte("SCAN"), []byte(cursor), []byte("COUNT"), []byte("7"), []byte("MATCH"), []byte("stable*")}, baseMs)
		next, keys := parseScanReply(t, reply)
		for _, k := range keys {
			seen[k] = true
		}
		cursor = next
		if cursor == "0" {
			break
		}
		if round > SlotCount {
			t.Fatal("SCAN does not terminate")
		}
	}
	for i := range 500 {
		if !seen["stable"+strconv.Itoa(i)] {
			t.Fatalf("stable%d never returned", i)
		}
	}
}

func parseScanReply(t *testing.T, b []byte) (string, []string) {
	t.Helper()
	lines := splitLines(b)
	if len(lines) < 3 || lines[0] != "*2" {
		t.Fatalf("bad scan reply %q", b)
	}
	cursor := lines[2]
	var keys []string
	for i := 4; i+1 < len(lines); i += 2 {
		keys = append(keys, lines[i+1])
	}
	return cursor, keys
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 2
			i++
		}
	}
	return out
}

func TestKeysInSlot(t *testing.T) {
	st := NewStore(Config{})
	for _, k := range []string{"{u}c", "{u}a", "{u}b", "other"} {
		st.Exec(nil, [][]byte{[]byte("SET"), []byte(k), []byte("v")}, baseMs)
	}
	st.Exec(nil, [][]byte{[]byte("SET"), []byte("{u}0"), []byte("v"), []byte("PX"), []byte("10")}, baseMs)
	slot := KeySlot([]byte("u"))
	if n := st.CountKeysInSlot(slot, baseMs); n != 4 {
		t.Fatalf("CountKeysInSlot before the expiry = %d, want 4", n)
	}
	if n := st.CountKeysInSlot(slot, baseMs+11); n != 3 {
		t.Fatalf("CountKeysInSlot after the expiry = %d, want 3 (expired keys are not counted)", n)
	}
	got := st.KeysInSlot(slot, 2, baseMs+11)
	if !slices.EqualFunc(got, []string{"{u}a", "{u}b"}, func(a []byte, b string) bool { return string(a) == b }) {
		t.Fatalf("KeysInSlot = %q", got)
	}
	if got := st.KeysInSlot(slot, 1, baseMs); len(got) != 1 || string(got[0]) != "{u}0" {
		t.Fatalf("KeysInSlot before the expiry = %q", got)
	}
	if n := st.DeleteSlot(slot); n != 4 || st.CountKeysInSlot(slot, baseMs) != 0 || st.Stats().Keys != 1 {
		t.Fatalf("DeleteSlot = %d, left %d, keys %d", n, st.CountKeysInSlot(slot, baseMs), st.Stats().Keys)
	}
	checkInvariants(t, st)
}
