package shard

import (
	"strconv"
	"strings"
	"testing"
)

func TestHashCommands(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"insertion order (listpack)", []step{
			{0, "HSET h a 1 b 2 c 3 d 4", num(4)},
			{0, "HDEL h b", num(1)},
			{0, "HSET h b 5 a 9", num(1)},
			{0, "HKEYS h", arr(bulk("a"), bulk("c"), bulk("d"), bulk("b"))},
			{0, "HVALS h", arr(bulk("9"), bulk("3"), bulk("4"), bulk("5"))},
			{0, "HGETALL h", arr(bulk("a"), bulk("9"), bulk("c"), bulk("3"), bulk("d"), bulk("4"), bulk("b"), bulk("5"))},
			{0, "OBJECT ENCODING h", bulk("listpack")},
			{0, "HLEN h", num(4)},
			{0, "HMGET h a zz d", arr(bulk("9"), null, bulk("4"))},
			{0, "HMSET h x 1", ok},
			{0, "HSET h x", ierr("ERR wrong number of arguments for 'hset' command")},
			{0, "HMSET h x", ierr("ERR wrong number of arguments for 'hmset' command")},
			{0, "HSETNX h a 1", num(0)},
			{0, "HSETNX h n 1", num(1)},
			{0, "HEXISTS h n", num(1)},
			{0, "HEXISTS h zz", num(0)},
			{0, "HSTRLEN h a", num(1)},
			{0, "HSTRLEN h zz", num(0)},
			{0, "HSCAN h 0 MATCH [ab]", arr(bulk("0"), arr(bulk("a"), bulk("9"), bulk("b"), bulk("5")))},
			{0, "HDEL h a c d b x n zz", num(6)},
			{0, "EXISTS h", num(0)},
			{0, "HGETALL h", arr()},
			{0, "HGET h a", null},
			{0, "HLEN h", num(0)},
		}},
		{"hincrby hincrbyfloat", []step{
			{0, "HSET h a 1 s abc", num(2)},
			{0, "HINCRBY h a 9223372036854775807", ierr("ERR increment or decrement would overflow")},
			{0, "HINCRBY h a 41", num(42)},
			{0, "HINCRBY h new -1", num(-1)},
			{0, "HINCRBY h s 1", ierr("ERR hash value is not an integer")},
			{0, "HINCRBY h a x", nint},
			{0, "HINCRBYFLOAT h s 1", ierr("ERR hash value is not a float")},
			{0, "HINCRBYFLOAT h a inf", ierr("ERR value is NaN or Infinity")},
			{0, "HINCRBYFLOAT h a x", ierr("ERR value is not a valid float")},
			{0, "HINCRBYFLOAT h a 0.5", bulk("42.5")},
			{0, "HINCRBYFLOAT h f 10.50", bulk("10.5")},
			{0, "HINCRBYFLOAT h f 0.1", bulk("10.6")},
			{0, "HGET h f", bulk("10.6")},
			{0, "HINCRBYFLOAT k f 1", bulk("1")},
			{0, "SET str v", ok},
			{0, "HINCRBY str f 1", wrong},
			{0, "HSET str f 1", wrong},
			{0, "HGET str f", wrong},
			{0, "HGETALL str", wrong},
			{0, "GET h", wrong},
		}},
		{"hrandfield", []step{
			{0, "HRANDFIELD missing", null},
			{0, "HRANDFIELD missing 3", arr()},
			{0, "HSET h a 1 b 2", num(2)},
			{0, "HRANDFIELD h 0", arr()},
			{0, "HRANDFIELD h 10", arr(bulk("a"), bulk("b"))},
			{0, "HRANDFIELD h 10 WITHVALUES", arr(bulk("a"), bulk("1"), bulk("b"), bulk("2"))},
			{0, "HRANDFIELD h -9223372036854775808", ierr("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")},
			{0, "HRANDFIELD h 9223372036854775807 WITHVALUES", ierr("ERR value is out of range")},
			{0, "HRANDFIELD h 1 bogus", synt},
			{0, "HRANDFIELD h x", nint},
		}},
		{"conversion by value length", []step{
			{0, "HSET h a " + strings.Repeat("v", 64), num(1)},
			{0, "OBJECT ENCODING h", bulk("listpack")},
			{0, "HSET h b " + strings.Repeat("v", 65), num(1)},
			{0, "OBJECT ENCODING h", bulk("hashtable")},
			{0, "HDEL h b", num(1)},
			{0, "OBJECT ENCODING h", bulk("hashtable")},
			{0, "HSET g a 1", num(1)},
			{0, "HINCRBYFLOAT g a 0.1234567890123456789012345678901234567890123456789012345678901", bulk("1.12345678901234568")},
			{0, "OBJECT ENCODING g", bulk("listpack")},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, nil, tc.steps) })
	}
}

func TestHashConversionByCount(t *testing.T) {
	st := NewStore(Config{})
	args := [][]byte{[]byte("HSET"), []byte("h")}
	for i := range listpackMaxEntries {
		args = append(args, []byte("f"+strconv.Itoa(i)), []byte("v"))
	}
	if got := string(st.Exec(nil, args, baseMs)); got != num(listpackMaxEntries) {
		t.Fatalf("HSET = %q", got)
	}
	enc := func() string { return string(st.Exec(nil, splitCmd(t, "OBJECT ENCODING h"), baseMs)) }
	if enc() != bulk("listpack") {
		t.Fatalf("at %d fields: %s", listpackMaxEntries, enc())
	}
	// insertion order is kept while listpack
	keys := string(st.Exec(nil, splitCmd(t, "HKEYS h"), baseMs))
	if !strings.HasPrefix(keys, "*512\r\n$2\r\nf0\r\n$2\r\nf1\r\n$2\r\nf2\r\n") {
		t.Fatalf("HKEYS order: %.40q", keys)
	}
	st.Exec(nil, splitCmd(t, "HSET h one-more v"), baseMs)
	if enc() != bulk("hashtable") {
		t.Fatalf("at %d fields: %s", listpackMaxEntries+1, enc())
	}
	for i := range listpackMaxEntries {
		st.Exec(nil, [][]byte{[]byte("HDEL"), []byte("h"), []byte("f" + strconv.Itoa(i))}, baseMs)
		checkInvariants(t, st)
	}
	if got := string(st.Exec(nil, splitCmd(t, "HGETALL h"), baseMs)); got != arr(bulk("one-more"), bulk("v")) {
		t.Fatalf("HGETALL = %q", got)
	}
}
