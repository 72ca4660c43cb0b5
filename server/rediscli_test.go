package server

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestRedisCLI drives the node with the real redis-cli binary (Debian's redis-tools): ping, set, get,
// a TTL, a hash, and redis-cli's own start-up COMMAND DOCS query in interactive-less mode.
func TestRedisCLI(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("SKIPPED: redis-cli is not on PATH (apt-get install redis-tools); the redis-cli test did not run")
	}
	n := openTestNode(t, nil)
	p := strconv.Itoa(n.Addr().(*net.TCPAddr).Port)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(cli, append([]string{"-p", p}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ping"}, "PONG"},
		{[]string{"set", "greeting", "hello world"}, "OK"},
		{[]string{"get", "greeting"}, "hello world"},
		{[]string{"set", "t", "1", "EX", "100"}, "OK"},
		{[]string{"ttl", "t"}, "100"},
		{[]string{"hset", "h", "a", "1", "b", "2"}, "2"},
		{[]string{"hgetall", "h"}, "a\n1\nb\n2"},
		{[]string{"incrbyfloat", "f", "10.5"}, "10.5"},
		{[]string{"incrbyfloat", "f", "0.1"}, "10.6"},
		{[]string{"dbsize"}, "4"},
		{[]string{"get", "missing"}, ""},
		{[]string{"incr", "greeting"}, "ERR value is not an integer or out of range"},
	} {
		if got := run(c.args...); got != c.want {
			t.Errorf("redis-cli %v = %q, want %q", c.args, got, c.want)
		}
	}
}
