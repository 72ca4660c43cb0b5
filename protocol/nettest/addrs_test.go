package nettest

import (
	"net"
	"strconv"
	"testing"
)

// TestLoopbackAddrs: distinct, bindable loopback addresses below the ephemeral range.
func TestLoopbackAddrs(t *testing.T) {
	addrs := LoopbackAddrs(t, 20)
	seen := map[string]bool{}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		p, _ := strconv.Atoi(port)
		if err != nil || host != "127.0.0.1" || p < minPort || p >= minPort+portSpan || seen[a] {
			t.Fatalf("address %q (%v)", a, err)
		}
		seen[a] = true
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s is not free: %v", a, err)
		}
		ln.Close()
	}
}
