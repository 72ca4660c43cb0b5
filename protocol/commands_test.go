package protocol

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/redcon"
)

func TestCommandTableHasEveryListedCommand(t *testing.T) {
	for name, subs := range tableCommands {
		s := Lookup([]byte(name))
		if s == nil {
			t.Errorf("%s missing", name)
			continue
		}
		for _, sub := range subs {
			ss := LookupSub(s, []byte(strings.ToUpper(sub)))
			if ss == nil || ss.Name != name+"|"+sub || ss.Parent() != s {
				t.Errorf("%s|%s missing", name, sub)
			}
		}
		if len(s.Subcommands) != len(subs) {
			t.Errorf("%s has %d subcommands, want %d", name, len(s.Subcommands), len(subs))
		}
	}
	if len(All()) != len(tableCommands) {
		t.Errorf("All() has %d commands, want %d", len(All()), len(tableCommands))
	}
	if !slices.IsSortedFunc(All(), func(a, b *Spec) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("All() not sorted")
	}
	seen := make([]bool, NumIDs())
	for id := 0; id < NumIDs(); id++ {
		s := ByID(id)
		if s.ID != id || seen[id] {
			t.Fatalf("ID %d maps to %s with ID %d", id, s.Name, s.ID)
		}
		seen[id] = true
	}
	if Lookup([]byte("swapdb")) != nil || Lookup([]byte("client|id")) != nil || Lookup(nil) != nil ||
		Lookup(bytes.Repeat([]byte("a"), 100)) != nil || LookupSub(nil, []byte("x")) != nil {
		t.Error("lookup of a name not in the table succeeded")
	}
}

// TestCommandSample checks a sample against Redis 7.0's src/commands/*.json, independently of the
// generated table's source.
func TestCommandSample(t *testing.T) {
	for _, tc := range []struct {
		name              string
		arity             int
		flags             Flag
		first, last, step int
		cats              string
	}{
		{"get", 2, ReadOnly | Fast, 1, 1, 1, "@read @string @fast"},
		{"set", -3, Write | DenyOOM, 1, 1, 1, "@write @string @slow"},
		{"mset", -3, Write | DenyOOM, 1, -1, 2, "@write @string @slow"},
		{"mget", -2, ReadOnly | Fast, 1, -1, 1, "@read @string @fast"},
		{"del", -2, Write, 1, -1, 1, "@keyspace @write @slow"},
		{"hset", -4, Write | DenyOOM | Fast, 1, 1, 1, "@write @hash @fast"},
		{"rename", 3, Write, 1, 2, 1, "@keyspace @write @slow"},
		{"ping", -1, Fast, 0, 0, 0, "@fast @connection"},
		{"auth", -2, NoScript | Loading | Stale | Fast | NoAuth | AllowBusy, 0, 0, 0, "@fast @connection"},
		{"hello", -1, NoScript | Loading | Stale | Fast | NoAuth | AllowBusy, 0, 0, 0, "@fast @connection"},
		{"exec", 1, NoScript | Loading | Stale | SkipSlowlog, 0, 0, 0, "@slow @transaction"},
		{"keys", 2, ReadOnly, 0, 0, 0, "@keyspace @read @slow @dangerous"},
		{"flushall", -1, Write, 0, 0, 0, "@keyspace @write @slow @dangerous"},
		{"wait", 3, NoScript, 0, 0, 0, "@slow @connection"},
	} {
		s := Lookup([]byte(tc.name))
		if s == nil {
			t.Fatalf("%s missing", tc.name)
		}
		if s.Arity != tc.arity || s.Flags != tc.flags || s.FirstKey != tc.first || s.LastKey != tc.last ||
			s.Step != tc.step || strings.Join(s.ACLCategories, " ") != tc.cats {
			t.Errorf("%s: got arity %d flags %v keys %d,%d,%d cats %v; want %d %v %d,%d,%d %s",
				tc.name, s.Arity, s.Flags.Names(), s.FirstKey, s.LastKey, s.Step, s.ACLCategories,
				tc.arity, tc.flags.Names(), tc.first, tc.last, tc.step, tc.cats)
		}
	}
	if s := LookupSub(Lookup([]byte("client")), []byte("SetName")); s == nil || s.Arity != 3 || !s.CheckArity(3) || s.CheckArity(2) {
		t.Errorf("client|setname: %v", s)
	}
}

func TestLookupCaseInsensitiveNoAlloc(t *testing.T) {
	names := [][]byte{[]byte("get"), []byte("GET"), []byte("gEt"), []byte("IncrByFloat"), []byte("nosuch")}
	want := []string{"get", "get", "get", "incrbyfloat", ""}
	for i, n := range names {
		got := ""
		if s := Lookup(n); s != nil {
			got = s.Name
		}
		if got != want[i] {
			t.Errorf("Lookup(%s) = %q, want %q", n, got, want[i])
		}
	}
	client := Lookup([]byte("client"))
	sub := []byte("SETNAME")
	allocs := testing.AllocsPerRun(1000, func() {
		for _, n := range names {
			Lookup(n)
		}
		LookupSub(client, sub)
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %.1f times per run", allocs)
	}
}

func TestKeyIndexes(t *testing.T) {
	args := func(s string) [][]byte {
		var out [][]byte
		for _, f := range strings.Fields(s) {
			out = append(out, []byte(f))
		}
		return out
	}
	for _, tc := range []struct {
		cmd  string
		want []int
	}{
		{"get k", []int{1}},
		{"mset a 1 b 2 c 3", []int{1, 3, 5}},
		{"mset a 1 b", []int{1, 3}}, // as Redis: the command itself then reports the error
		{"get", nil},                // too few arguments: no keys
		{"mget a b c", []int{1, 2, 3}},
		{"del a", []int{1}},
		{"rename a b", []int{1, 2}},
		{"ping", nil},
		{"hset h f v", []int{1}},
		{"copy a b", []int{1, 2}},
	} {
		a := args(tc.cmd)
		got := Lookup(a[0]).KeyIndexes(a)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: keys %v, want %v", tc.cmd, got, tc.want)
		}
	}
	sub := LookupSub(Lookup([]byte("object")), []byte("encoding"))
	if got := sub.KeyIndexes(args("object encoding k")); !slices.Equal(got, []int{2}) {
		t.Errorf("object encoding: %v", got)
	}
	dst := make([]int, 0, 8)
	a := args("mset a 1 b 2")
	mset := Lookup(a[0])
	if allocs := testing.AllocsPerRun(100, func() { dst = mset.AppendKeyIndexes(dst[:0], a) }); allocs != 0 {
		t.Errorf("AppendKeyIndexes allocates %.1f", allocs)
	}
}

func TestErrorTexts(t *testing.T) {
	if got := WrongArity("client|setname"); got != "ERR wrong number of arguments for 'client|setname' command" {
		t.Error(got)
	}
	if got := UnknownSubcommand("client", "foo"); got != "ERR unknown subcommand 'foo'. Try CLIENT HELP." {
		t.Error(got)
	}
	b := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		args [][]byte
		want string
	}{
		{b("foo"), "ERR unknown command 'foo', with args beginning with: "},
		{b("foo", "a", "b"), "ERR unknown command 'foo', with args beginning with: 'a' 'b' "},
		{b("%1"), "ERR unknown command '%1', with args beginning with: "},
		{b("f\r\no", "a\nb"), "ERR unknown command 'f  o', with args beginning with: 'a b' "},
		{b("f\x00oo", "a\x00b"), "ERR unknown command 'f', with args beginning with: 'a' "},
		{b(long), "ERR unknown command '" + long[:128] + "', with args beginning with: "},
		{b("foo", long, "b"), "ERR unknown command 'foo', with args beginning with: '" + long[:128] + "' "},
		// 'aaaa…' (62 a) is 65 bytes with quotes and space; the second arg is cut to 128-65 = 63 bytes;
		// then the list is 130 bytes long and the third is not listed.
		{b("foo", strings.Repeat("a", 62), long, "c"), "ERR unknown command 'foo', with args beginning with: '" +
			strings.Repeat("a", 62) + "' '" + long[:63] + "' "},
	} {
		if got := UnknownCommand(tc.args); got != tc.want {
			t.Errorf("UnknownCommand(%q)\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
}

// TestCommandInfoMatchesRedis compares COMMAND INFO and COMMAND DOCS (without "arguments") of every
// command in the table with a real redis-server 7.
func TestCommandInfoMatchesRedis(t *testing.T) {
	rc := startRedis(t)
	// The exact bytes of one multi-command reply, as the brief asks.
	real := rc.do(t, "COMMAND", "INFO", "get", "set", "mset", "hset")
	var ours []byte
	ours = redcon.AppendArray(ours, 4)
	for _, n := range []string{"get", "set", "mset", "hset"} {
		ours = AppendCommandInfo(ours, Lookup([]byte(n)))
	}
	if got, want := string(ours), string(AppendValue(nil, real)); got != want {
		t.Errorf("COMMAND INFO get set mset hset differs:\n ours %q\nredis %q", got, want)
	}
	// Every command: the 10 fields, with the subcommand list compared per subcommand (vsdb serves a
	// subset of each container's subcommands, and Redis lists them in hash order).
	for _, s := range All() {
		real := rc.do(t, "COMMAND", "INFO", s.Name).Array[0]
		ourV := parseOne(t, AppendCommandInfo(nil, s))
		compareInfo(t, s, ourV, real)
		for _, sub := range s.Subcommands {
			i := slices.IndexFunc(real.Array[9].Array, func(v Value) bool { return string(v.Array[0].Str) == sub.Name })
			if i < 0 {
				if redis72Subcommands[sub.Name] == nil {
					t.Errorf("%s: redis-server has no such subcommand", sub.Name)
				}
				continue
			}
			compareInfo(t, sub, parseOne(t, AppendCommandInfo(nil, sub)), real.Array[9].Array[i])
		}
		realDocs := rc.do(t, "COMMAND", "DOCS", s.Name)
		compareDocs(t, s.Name, parseOne(t, AppendCommandDocs(nil, s)), realDocs.Array[1])
	}
}

func compareInfo(t *testing.T, s *Spec, ours, real Value) {
	t.Helper()
	if len(ours.Array) != 10 || len(real.Array) != 10 {
		t.Fatalf("%s: entries of %d and %d fields", s.Name, len(ours.Array), len(real.Array))
	}
	for i := 0; i < 9; i++ {
		if a, b := ours.Array[i].String(), real.Array[i].String(); a != b {
			t.Errorf("%s field %d: ours %s, redis %s", s.Name, i, a, b)
		}
	}
}

func compareDocs(t *testing.T, name string, ours, real Value) {
	t.Helper()
	om, rm := mapOf(ours), mapOf(real)
	delete(rm, "arguments")
	if rs, ok := rm["subcommands"]; ok {
		subs := mapOf(rs)
		osubs := mapOf(om["subcommands"])
		for n, od := range osubs {
			if rd, ok := subs[n]; ok {
				compareDocs(t, n, od, rd)
			} else if redis72Subcommands[n] == nil {
				t.Errorf("%s: not in redis docs", n)
			}
		}
		delete(rm, "subcommands")
		delete(om, "subcommands")
	}
	if len(om) != len(rm) {
		t.Errorf("%s docs: ours %v, redis %v", name, ours, real)
		return
	}
	for k, v := range rm {
		if om[k].String() != v.String() {
			t.Errorf("%s docs %s: ours %v, redis %v", name, k, om[k], v)
		}
	}
}

func parseOne(t *testing.T, b []byte) Value {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	v, err := ReadReply(br)
	if err != nil {
		t.Fatalf("%v in %q", err, b)
	}
	if br.Buffered() != 0 {
		t.Fatalf("trailing bytes after %q", b)
	}
	return v
}

// TestLookupLower: any map with lower-case keys, case-insensitive, the zero value for unknown and
// over-long names, no allocation.
func TestLookupLower(t *testing.T) {
	m := map[string]int{"randomkey": 7, "dbsize": 3}
	long := []byte(strings.Repeat("a", MaxCommandNameBytes+1))
	m[string(long)] = 9 // unreachable: longer than the buffer
	for name, want := range map[string]int{"RandomKey": 7, "dbsize": 3, "DBSIZE": 3, "dbsiz": 0, "": 0, string(long): 0} {
		if got := LookupLower(m, []byte(name)); got != want {
			t.Errorf("LookupLower(%q) = %d, want %d", name, got, want)
		}
	}
	name := []byte("RANDOMKEY")
	if allocs := testing.AllocsPerRun(1000, func() { LookupLower(m, name) }); allocs != 0 {
		t.Errorf("LookupLower allocates %.1f times per run", allocs)
	}
}
