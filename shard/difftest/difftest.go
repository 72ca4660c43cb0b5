package difftest

import (
	"bufio"
	"bytes"
	"math/rand"
	"slices"
	"strconv"
	"strings"

	"github.com/vsdb/vsdb/protocol"
)

// Keys is the pool of keys commands draw from (so commands collide): plain names, hash-tagged names,
// binary keys with NUL and high bytes, the empty key, a CRLF key and a long key.
var Keys = []string{
	"a", "b", "c", "counter", "n1", "n2", "f1", "h1", "h2", "h3",
	"{user}:1", "{user}:2", "{user}.x", "", "\x00", "\x00bin\x00", "\xff\xfe\xfd", "key with space",
	"k\r\nx", "é", "long:" + strings.Repeat("x", 300), "t1", "t2", "t3", "e1", "e2", "big", "s1", "s2", "s3",
}

var values = []string{
	"v", "", "hello", "0", "1", "-1", "42", "007", "-0", " 1", "+1", "1e3", "3.14", "10.50", "-2.5",
	"9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807", "abc",
	"\x00\xff", "inf", "1.5e10", strings.Repeat("x", 44), strings.Repeat("y", 45), strings.Repeat("z", 65),
	"0x10", "1_000", "12345678901234567890", "99999999999999999999", "0.1", "5.", ".5",
}

var ints = []string{
	"1", "-1", "0", "5", "100", "-100", "9223372036854775807", "-9223372036854775808",
	"9223372036854775808", "1e3", " 1", "+1", "abc", "", "007", "-0", "3.0", "12",
}

var floats = []string{
	"0.1", "-0.1", "1", "1.5", "-3.25", "1e3", "1e-3", "3.0e2", "inf", "-inf", "nan", "abc", "1e5000",
	"0x1p3", " 1", "1 ", "", ".5", "5.", "-0", "1e", "0x", "infinity", "+2", "1e-5000", "10.50",
	"0.0000001", "123456789.123456789", "-1e20",
}

var relSeconds = []string{"100", "250", "1000", "0", "-1", "-100", "9223372036854775807",
	"9223372036854775808", "1e3", " 1", "abc", "9223372036854775", "", "-9223372036854775808", "500"}
var relMillis = []string{"100000", "250000", "0", "-1", "9223372036854775807", "9223372036854770000", "x", "300000"}
var absSecondsFuture = []string{"4102444800", "4102444900", "9223372036854775807", "0", "-5", "abc"}
var absMillisFuture = []string{"4102444800123", "4102444900000", "9223372036854775807", "0", "-5"}
var absSecondsAny = []string{"4102444800", "4102444900", "1", "1000000000", "0", "-5", "9223372036854775807", "4102445000"}
var absMillisAny = []string{"4102444800123", "4102444900000", "1", "1500000000000", "0", "-9223372036854775808", "9223372036854775807"}

var patterns = []string{"*", "k*", "?", "{user}*", "h[0-9]", "[^a]*", "\\{*", "*x*", "t?", "[a-c]*",
	"*\x00*", "", "e[12]", "*:*", "[z-a]*", "s\\1", "?*?", "**", "[", "big"}

var fields = []string{"f", "g", "name", "", "\x00", "count", "x:1", "é", strings.Repeat("F", 65), "n", "fl", "ff"}

// gen holds the generator's state.
type gen struct {
	r *rand.Rand
}

func (g *gen) pick(list []string) string { return list[g.r.Intn(len(list))] }
func (g *gen) key() string               { return g.pick(Keys) }

// casing randomizes the case of a command or option name.
func (g *gen) casing(s string) string {
	switch g.r.Intn(4) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		b := []byte(s)
		for i := range b {
			if g.r.Intn(2) == 0 && b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
		return string(b)
	}
	return s
}

func (g *gen) cmd(name string, args ...string) [][]byte {
	out := make([][]byte, 0, 1+len(args))
	out = append(out, []byte(g.casing(name)))
	for _, a := range args {
		out = append(out, []byte(a))
	}
	return out
}

func (g *gen) value() string {
	if g.r.Intn(10) == 0 {
		return strconv.Itoa(g.r.Intn(2000) - 1000)
	}
	return g.pick(values)
}

// setOpts returns a random option list for SET: mostly valid combinations, sometimes conflicts.
func (g *gen) setOpts() []string {
	var o []string
	if g.r.Intn(3) == 0 {
		o = append(o, g.casing(g.pick([]string{"nx", "xx"})))
	}
	switch g.r.Intn(8) {
	case 0:
		o = append(o, g.casing("ex"), g.pick(relSeconds))
	case 1:
		o = append(o, g.casing("px"), g.pick(relMillis))
	case 2:
		o = append(o, g.casing("exat"), g.pick(absSecondsFuture))
	case 3:
		o = append(o, g.casing("pxat"), g.pick(absMillisFuture))
	case 4:
		o = append(o, g.casing("keepttl"))
	}
	if g.r.Intn(4) == 0 {
		o = append(o, g.casing("get"))
	}
	if g.r.Intn(12) == 0 { // conflicts and junk
		o = append(o, g.pick([]string{"nx", "xx", "keepttl", "ex", "px 100000", "exat", "bogus", "get", "EX", "persist"}))
	}
	g.r.Shuffle(len(o), func(i, j int) {
		// keep an option's value after it: only shuffle when no value follows
		if isExpireOpt(o[i]) || isExpireOpt(o[j]) || (i > 0 && isExpireOpt(o[i-1])) || (j > 0 && isExpireOpt(o[j-1])) {
			return
		}
		o[i], o[j] = o[j], o[i]
	})
	return o
}

func isExpireOpt(s string) bool {
	switch strings.ToLower(s) {
	case "ex", "px", "exat", "pxat":
		return true
	}
	return false
}

// bigHSet is one HSET creating ~520 fields (converting the hash to "hashtable").
func (g *gen) bigHSet(key string) [][]byte {
	args := []string{key}
	for i := range 520 {
		args = append(args, "bf"+strconv.Itoa(i), strconv.Itoa(i))
	}
	return g.cmd("hset", args...)
}

func (g *gen) one() [][]byte {
	k := g.key()
	switch g.r.Intn(75) {
	case 0, 1, 2:
		return g.cmd("get", k)
	case 3, 4, 5:
		return g.cmd("set", append([]string{k, g.value()}, g.setOpts()...)...)
	case 6:
		return g.cmd("setnx", k, g.value())
	case 7:
		return g.cmd("setex", k, g.pick(relSeconds), g.value())
	case 8:
		return g.cmd("psetex", k, g.pick(relMillis), g.value())
	case 9:
		return g.cmd("getset", k, g.value())
	case 10:
		return g.cmd("getdel", k)
	case 11:
		switch g.r.Intn(7) {
		case 0:
			return g.cmd("getex", k, g.casing("persist"))
		case 1:
			return g.cmd("getex", k, g.casing("ex"), g.pick(relSeconds))
		case 2:
			return g.cmd("getex", k, g.casing("px"), g.pick(relMillis))
		case 3:
			return g.cmd("getex", k, g.casing("exat"), g.pick(absSecondsAny))
		case 4:
			return g.cmd("getex", k, g.casing("pxat"), g.pick(absMillisAny))
		case 5:
			return g.cmd("getex", k, g.pick([]string{"nx", "ex", "persist", "keepttl", "get"}), "100")
		}
		return g.cmd("getex", k)
	case 12:
		return g.cmd("mget", g.key(), g.key(), g.key())
	case 13:
		if g.r.Intn(8) == 0 {
			return g.cmd("mset", g.key(), g.value(), g.key())
		}
		return g.cmd("mset", g.key(), g.value(), g.key(), g.value())
	case 14:
		return g.cmd("msetnx", g.key(), g.value(), g.key(), g.value())
	case 15, 16:
		return g.cmd("append", k, g.value())
	case 17:
		return g.cmd("strlen", k)
	case 18:
		name := "getrange"
		if g.r.Intn(3) == 0 {
			name = "substr"
		}
		return g.cmd(name, k, g.pick([]string{"0", "1", "-1", "-3", "5", "100", "-100", "x", "9223372036854775807", "-9223372036854775808"}),
			g.pick([]string{"0", "-1", "2", "-2", "10", "1000", "-1000", "1.5"}))
	case 19:
		return g.cmd("setrange", k, g.pick([]string{"0", "1", "3", "10", "100", "-1", "x", "536870912", "9223372036854775807"}),
			g.pick([]string{"", "ab", "XYZ", "\x00"}))
	case 20, 21, 22:
		return g.cmd(g.pick([]string{"incr", "decr"}), g.pick([]string{k, "counter", "n1", "n2"}))
	case 23, 24:
		return g.cmd(g.pick([]string{"incrby", "decrby"}), g.pick([]string{k, "counter", "n1", "n2"}), g.pick(ints))
	case 25, 26, 27:
		return g.cmd("incrbyfloat", g.pick([]string{k, "f1", "f1", "n1"}), g.pick(floats))
	case 28:
		return g.cmd(g.pick([]string{"del", "unlink"}), k, g.key())
	case 29:
		return g.cmd("exists", k, g.key(), k)
	case 30:
		return g.cmd("touch", k, g.key())
	case 31:
		return g.cmd("type", k)
	case 32, 33:
		name := g.pick([]string{"expire", "pexpire"})
		vals := relSeconds
		if name == "pexpire" {
			vals = relMillis
		}
		args := []string{k, g.pick(vals)}
		switch g.r.Intn(6) {
		case 0:
			args = append(args, g.casing("nx"))
		case 1:
			args = append(args, g.casing("xx"))
		case 2:
			args = append(args, g.pick([]string{"nx", "gt", "lt", "xx", "bogus"}), g.pick([]string{"xx", "gt", "lt", "nx"}))
		}
		return g.cmd(name, args...)
	case 34, 35:
		name := g.pick([]string{"expireat", "pexpireat"})
		vals := absSecondsAny
		if name == "pexpireat" {
			vals = absMillisAny
		}
		args := []string{k, g.pick(vals)}
		if g.r.Intn(2) == 0 {
			args = append(args, g.casing(g.pick([]string{"nx", "xx", "gt", "lt"})))
		}
		if g.r.Intn(8) == 0 {
			args = append(args, g.pick([]string{"nx", "gt", "lt", "xx", "\x00x"}))
		}
		return g.cmd(name, args...)
	case 36:
		return g.cmd(g.pick([]string{"expiretime", "pexpiretime"}), k)
	case 37, 38:
		return g.cmd(g.pick([]string{"ttl", "pttl"}), k)
	case 39:
		return g.cmd("persist", k)
	case 40:
		return g.cmd(g.pick([]string{"rename", "renamenx"}), k, g.key())
	case 41:
		return g.cmd("keys", g.pick(patterns))
	case 42:
		args := []string{g.pick([]string{"0", "0", "0", "x", "-", " 0", "18446744073709551616"})}
		if g.r.Intn(2) == 0 {
			args = append(args, g.casing("match"), g.pick(patterns))
		}
		if g.r.Intn(3) == 0 {
			args = append(args, g.casing("type"), g.pick([]string{"string", "hash", "HASH", "list", "none"}))
		}
		switch g.r.Intn(10) {
		case 0:
			args = append(args, "count", g.pick([]string{"0", "-1", "x"}))
		case 1:
			args = append(args, "bogus")
		default:
			args = append(args, g.casing("count"), "1000")
		}
		return g.cmd("scan", args...)
	case 43:
		return g.cmd("randomkey")
	case 44:
		args := []string{k, g.key()}
		switch g.r.Intn(6) {
		case 0:
			args = append(args, g.casing("replace"))
		case 1:
			args = append(args, g.casing("db"), g.pick([]string{"0", "16", "-1", "x", "99999999999"}))
		case 2:
			args = append(args, "bogus")
		}
		return g.cmd("copy", args...)
	case 45:
		return g.cmd("dbsize")
	case 46:
		if g.r.Intn(10) == 0 { // rare: keep state around
			return g.cmd(g.pick([]string{"flushall", "flushdb"}), g.pick([]string{"async", "sync", "SYNC"}))
		}
		return g.cmd("flushall", "bogus")
	case 47:
		if g.r.Intn(6) == 0 {
			return g.cmd("object", g.pick([]string{"foo", "encoding"}))
		}
		return g.cmd("object", g.casing("encoding"), k)
	case 48, 49, 50, 51:
		hk := g.pick([]string{"h1", "h2", "h3", k})
		if g.r.Intn(30) == 0 {
			return g.bigHSet(hk)
		}
		args := []string{hk}
		for range 1 + g.r.Intn(3) {
			args = append(args, g.pick(fields), g.value())
		}
		if g.r.Intn(15) == 0 {
			args = args[:len(args)-1]
		}
		return g.cmd(g.pick([]string{"hset", "hset", "hmset"}), args...)
	case 52:
		return g.cmd("hsetnx", g.pick([]string{"h1", "h2", k}), g.pick(fields), g.value())
	case 53, 54:
		return g.cmd("hget", g.pick([]string{"h1", "h2", "h3", k}), g.pick(fields))
	case 55:
		return g.cmd("hmget", g.pick([]string{"h1", "h2", k}), g.pick(fields), g.pick(fields))
	case 56, 57:
		return g.cmd("hdel", g.pick([]string{"h1", "h2", "h3", k}), g.pick(fields), g.pick(fields))
	case 58:
		return g.cmd("hlen", g.pick([]string{"h1", "h2", "h3", k}))
	case 59:
		return g.cmd("hstrlen", g.pick([]string{"h1", "h2", k}), g.pick(fields))
	case 60:
		return g.cmd("hexists", g.pick([]string{"h1", "h2", k}), g.pick(fields))
	case 61:
		return g.cmd(g.pick([]string{"hkeys", "hvals", "hgetall"}), g.pick([]string{"h1", "h2", "h3", k}))
	case 62, 63:
		return g.cmd("hincrby", g.pick([]string{"h1", "h2", k}), g.pick(fields), g.pick(ints))
	case 64, 65:
		return g.cmd("hincrbyfloat", g.pick([]string{"h1", "h2", k}), g.pick(fields), g.pick(floats))
	case 66:
		hk := g.pick([]string{"h1", "h2", "h3", k})
		switch g.r.Intn(7) {
		case 0:
			return g.cmd("hrandfield", hk)
		case 1:
			return g.cmd("hrandfield", hk, g.pick([]string{"-1", "-5", "1", "0"}))
		case 2:
			return g.cmd("hrandfield", hk, g.pick([]string{"-3", "1", "1000"}), g.casing("withvalues"))
		case 3:
			return g.cmd("hrandfield", hk, g.pick([]string{"x", "-9223372036854775808", "9223372036854775807", "5000000000000000000"}),
				g.pick([]string{"withvalues", "bogus"}))
		}
		return g.cmd("hrandfield", hk, g.pick([]string{"600", "1000"}))
	case 67:
		args := []string{g.pick([]string{"h1", "h2", "h3", k}), g.pick([]string{"0", "0", "x"})}
		if g.r.Intn(2) == 0 {
			args = append(args, g.casing("match"), g.pick(patterns))
		}
		switch g.r.Intn(8) {
		case 0:
			args = append(args, "count", "0")
		case 1:
			args = append(args, "type", "string")
		default:
			args = append(args, "count", "1000")
		}
		return g.cmd("hscan", args...)
	case 68: // wrong arity and unknown subcommands
		return g.pick2([][]string{{"get"}, {"get", k, k}, {"set", k}, {"hset", "h1", "f"}, {"mset", k},
			{"object"}, {"expire", k}, {"scan"}, {"getrange", k, "0"}, {"hget", "h1"}, {"incr"},
			{"dbsize", "x"}, {"randomkey", "x"}, {"hmset", "h1", "f", "v", "g"}, {"msetnx", "a", "1", "b"},
			{"hrandfield"}, {"ttl"}, {"copy", k}, {"hscan", "h1"}})
	case 69, 70:
		return g.cmd("set", g.pick([]string{"n1", "n2", "counter", "f1"}), g.pick(ints))
	case 71:
		return g.cmd("set", g.pick([]string{"f1", "n1"}), g.pick(floats))
	case 72:
		return g.cmd("hset", g.pick([]string{"h1", "h2"}), g.pick(fields), g.pick(floats))
	default:
		return g.cmd("set", k, g.value())
	}
}

func (g *gen) pick2(list [][]string) [][]byte {
	c := list[g.r.Intn(len(list))]
	return g.cmd(c[0], c[1:]...)
}

// Generate returns n random commands (each an argument vector, args[0] the name in random case).
func Generate(rng *rand.Rand, n int) [][][]byte {
	g := &gen{r: rng}
	out := make([][][]byte, 0, n)
	for range n {
		out = append(out, g.one())
	}
	return out
}

// Normalize rewrites reply (one complete RESP2 reply to args) so that replies that legitimately differ
// between two correct servers compare equal: element order of KEYS/SCAN/HKEYS/HVALS/HGETALL/HSCAN/
// HRANDFIELD is sorted (field/value pairs kept together), SCAN/HSCAN cursors become "0" or "<more>",
// RANDOMKEY and count-less HRANDFIELD become "<some>", HRANDFIELD with repetition becomes its length, a
// non-negative TTL/PTTL becomes "<ttl>", and an EXPIRETIME/PEXPIRETIME before 2100 becomes "<time>".
// Errors and anything unparsable are returned unchanged.
func Normalize(args [][]byte, reply []byte) []byte {
	if len(args) == 0 || len(reply) == 0 || reply[0] == '-' {
		return reply
	}
	br := bufio.NewReader(bytes.NewReader(reply))
	v, err := protocol.ReadReply(br)
	if err != nil || br.Buffered() != 0 {
		return reply
	}
	placeholder := func(s string) protocol.Value { return protocol.Value{Kind: protocol.SimpleString, Str: []byte(s)} }
	switch strings.ToLower(string(args[0])) {
	case "keys", "hkeys", "hvals":
		sortValues(v.Array, 1)
	case "hgetall":
		sortValues(v.Array, 2)
	case "scan", "hscan":
		if len(v.Array) == 2 {
			if string(v.Array[0].Str) != "0" {
				v.Array[0].Str = []byte("<more>")
			}
			pair := 1
			if strings.EqualFold(string(args[0]), "hscan") {
				pair = 2
			}
			sortValues(v.Array[1].Array, pair)
		}
	case "randomkey":
		if v.Kind == protocol.Bulk {
			v = placeholder("<some>")
		}
	case "hrandfield":
		switch {
		case len(args) < 3:
			if v.Kind == protocol.Bulk {
				v = placeholder("<some>")
			}
		case v.Kind == protocol.Array:
			n, _ := strconv.ParseInt(string(args[2]), 10, 64)
			if n < 0 || n == 1 {
				v = protocol.Value{Kind: protocol.Integer, Int: int64(len(v.Array))}
			} else if len(args) == 4 {
				sortValues(v.Array, 2)
			} else {
				sortValues(v.Array, 1)
			}
		}
	case "ttl", "pttl":
		if v.Kind == protocol.Integer && v.Int >= 0 {
			v = placeholder("<ttl>")
		}
	case "expiretime", "pexpiretime":
		if v.Kind == protocol.Integer && v.Int >= 0 {
			limit := int64(4102444800) // 2100-01-01
			if strings.EqualFold(string(args[0]), "pexpiretime") {
				limit *= 1000
			}
			if v.Int < limit {
				v = placeholder("<time>")
			}
		}
	default:
		return reply
	}
	return protocol.AppendValue(nil, v)
}

// sortValues sorts elems in groups of size group (1 = single elements, 2 = pairs by their first).
func sortValues(elems []protocol.Value, group int) {
	if len(elems)%group != 0 {
		return
	}
	groups := make([][]protocol.Value, 0, len(elems)/group)
	for i := 0; i < len(elems); i += group {
		groups = append(groups, slices.Clone(elems[i:i+group]))
	}
	slices.SortStableFunc(groups, func(a, b []protocol.Value) int {
		for i := range a {
			if c := bytes.Compare(a[i].Str, b[i].Str); c != 0 {
				return c
			}
		}
		return 0
	})
	for i, gr := range groups {
		copy(elems[i*group:], gr)
	}
}
