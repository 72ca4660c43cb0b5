package difftest

import (
	"bufio"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

func cmd(s ...string) (out [][]byte) {
	for _, a := range s {
		out = append(out, []byte(a))
	}
	return out
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		args       [][]byte
		a, b       string
		shouldSame bool
	}{
		{cmd("KEYS", "*"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\nb\r\n$1\r\na\r\n", true},
		{cmd("KEYS", "*"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\na\r\n$1\r\nc\r\n", false},
		{cmd("HGETALL", "h"), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n", true},
		{cmd("HGETALL", "h"), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n", false},
		{cmd("SCAN", "0"), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nx\r\n", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nx\r\n", true},
		{cmd("TTL", "k"), ":99\r\n", ":100\r\n", true},
		{cmd("TTL", "k"), ":-1\r\n", ":100\r\n", false},
		{cmd("RANDOMKEY"), "$1\r\na\r\n", "$1\r\nb\r\n", true},
		{cmd("RANDOMKEY"), "$-1\r\n", "$1\r\nb\r\n", false},
		{cmd("HRANDFIELD", "h", "-3"), "*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\nb\r\n", "*3\r\n$1\r\nb\r\n$1\r\nb\r\n$1\r\nb\r\n", true},
		{cmd("PEXPIRETIME", "k"), ":4102444800123\r\n", ":4102444800124\r\n", false},
		{cmd("GET", "k"), "$1\r\na\r\n", "$1\r\nb\r\n", false},
		{cmd("GET", "k"), "-ERR x\r\n", "-ERR x\r\n", true},
	}
	for _, tc := range tests {
		na, nb := Normalize(tc.args, []byte(tc.a)), Normalize(tc.args, []byte(tc.b))
		if (string(na) == string(nb)) != tc.shouldSame {
			t.Errorf("Normalize(%q): %q vs %q → %q vs %q", tc.args, tc.a, tc.b, na, nb)
		}
	}
}

func TestReadReply(t *testing.T) {
	in := "+OK\r\n*2\r\n$3\r\na\r\n\r\n*-1\r\n:5\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	var got []string
	for range 3 {
		b, err := ReadReply(r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
	}
	want := []string{"+OK\r\n", "*2\r\n$3\r\na\r\n\r\n*-1\r\n", ":5\r\n"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	if _, err := ReadReply(bufio.NewReader(strings.NewReader("?x\r\n"))); err == nil {
		t.Fatal("bad type byte accepted")
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := Generate(rand.New(rand.NewSource(3)), 500)
	b := Generate(rand.New(rand.NewSource(3)), 500)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different commands")
	}
	names := map[string]bool{}
	for _, c := range Generate(rand.New(rand.NewSource(1)), 20000) {
		names[strings.ToLower(string(c[0]))] = true
	}
	if len(names) < 60 {
		t.Fatalf("only %d distinct commands generated", len(names))
	}
}
