package nettest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// Ports are drawn from [minPort, minPort+portSpan), below Linux's ephemeral range (32768 and up).
const (
	minPort  = 20000
	portSpan = 12768
	maxTries = 1000
)

// LoopbackAddrs reserves n loopback addresses (listen, note, close) for servers that must know each
// other's addresses before they start. A port taken with :0 would come from the ephemeral range, where
// any outgoing connection of a parallel test process can take it between the close and the server's
// bind (a fresh-clone CI run failed that way), so the ports are drawn at random below that range.
func LoopbackAddrs(tb testing.TB, n int) []string {
	tb.Helper()
	var out []string
	var lns []net.Listener
	for tries := 0; len(out) < n; tries++ {
		if tries == maxTries {
			tb.Fatalf("nettest: no free loopback port in %d-%d after %d tries", minPort, minPort+portSpan-1, maxTries)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", minPort+rand.IntN(portSpan)))
		if err != nil {
			continue // taken: draw another
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return out
}
