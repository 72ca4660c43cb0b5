package server

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/dht"
)

// TestRedisCLI drives the node with the real redis-cli binary (Debian's redis-tools): ping, set, get,
// a TTL, a hash, and redis-cli's own start-up COMMAND DOCS query in interactive-less mode.
func TestRedisCLI(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("SKIPPED: redis-cli is not on PATH (apt-get install redis-tools); the redis-cli test did not run")
	}
	n := openTestNode(t, nil)
	run := redisCLI(t, cli, n.Addr())
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

// TestRedisCLIFollowsMoved: redis-cli -c against a cluster in -MOVED mode writes and reads keys of every
// shard through one node (it follows the redirects), and without -c it shows the MOVED error.
func TestRedisCLIFollowsMoved(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("SKIPPED: redis-cli is not on PATH (apt-get install redis-tools); the redis-cli test did not run")
	}
	tc := startTestClusterWith(t, 3, dht.Params{RF: 1, ExpectedGroupSize: 3}, func(cc *ClusterConfig) { cc.Redirect = "moved" })
	tc.waitLayout(3)
	run := redisCLI(t, cli, tc.nodes[1].Addr())
	l, _ := tc.nodes[1].ClusterLayout()
	moved := 0
	for i := 0; i < 30; i++ {
		k := "cli:" + strconv.Itoa(i)
		if got := run("-c", "set", k, "v"+strconv.Itoa(i)); got != "OK" {
			t.Fatalf("redis-cli -c set %s: %q", k, got)
		}
		if got := run("-c", "get", k); got != "v"+strconv.Itoa(i) {
			t.Fatalf("redis-cli -c get %s: %q", k, got)
		}
		if dht.ShardOfKey([]byte(k), l.Shards) != dht.ShardOfMember(l.Placement, l.Self, l.Shards) {
			moved++
			if got := run("get", k); !strings.HasPrefix(got, "MOVED ") {
				t.Fatalf("redis-cli get %s without -c: %q, want a MOVED error", k, got)
			}
		}
	}
	if moved == 0 {
		t.Fatal("no key of another shard among 30: the redirect was not exercised")
	}
}

// redisCLI returns a function that runs the redis-cli binary cli against addr and returns its trimmed
// output (a failure to run fails the test).
func redisCLI(t *testing.T, cli string, addr net.Addr) func(args ...string) string {
	p := strconv.Itoa(addr.(*net.TCPAddr).Port)
	return func(args ...string) string {
		t.Helper()
		out, err := exec.Command(cli, append([]string{"-p", p}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
}
