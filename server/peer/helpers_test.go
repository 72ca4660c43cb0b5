package peer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vsdb/vsdb/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// overall bounds every wait of a test: it only turns a hang into a failure, it is not an assertion
// about speed.
const overall = 60 * time.Second

const testCluster = 0xc1

// node is a transport under test with its deliveries on a channel.
type node struct {
	*Transport
	in chan Inbound
}

func testConfig(id NodeID) Config {
	return Config{Self: id, ListenAddr: "127.0.0.1:0", ClusterID: testCluster, Incarnation: 1,
		ReconnectBackoffMin: time.Millisecond, ReconnectBackoffMax: 20 * time.Millisecond,
		DialTimeout: overall, HandshakeTimeout: overall}
}

func startNode(t testing.TB, cfg Config) *node {
	t.Helper()
	n := &node{in: make(chan Inbound, 1<<16)}
	tr, err := New(cfg, func(m Inbound) { n.in <- m })
	if err != nil {
		t.Fatal(err)
	}
	n.Transport = tr
	t.Cleanup(func() { _ = tr.Close() })
	return n
}

// mesh starts transports with ids 1..k that know each other's addresses.
func mesh(t testing.TB, k int) []*node {
	nodes := make([]*node, k)
	for i := range nodes {
		nodes[i] = startNode(t, testConfig(NodeID(i+1)))
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.SetPeer(b.cfg.Self, b.Addr().String())
			}
		}
	}
	return nodes
}

// seqPayload is a payload carrying a sequence number, padded to size bytes (at least 8).
func seqPayload(seq uint64, size int) []byte {
	p := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(p, seq)
	for i := 8; i < len(p); i++ {
		p[i] = byte(seq) + byte(i)
	}
	return p
}

func payloadSeq(t testing.TB, p []byte) uint64 {
	t.Helper()
	if len(p) < 8 {
		t.Fatalf("payload of %d bytes", len(p))
	}
	seq := binary.BigEndian.Uint64(p)
	for i := 8; i < len(p); i++ {
		if p[i] != byte(seq)+byte(i) {
			t.Fatalf("payload %d corrupt at byte %d", seq, i)
		}
	}
	return seq
}

// recv returns the next delivery of n, failing the test if none comes before the deadline.
func (n *node) recv(t testing.TB, deadline <-chan time.Time) Inbound {
	t.Helper()
	select {
	case m := <-n.in:
		return m
	case <-deadline:
		t.Fatalf("node %d: no delivery before the overall deadline", n.cfg.Self)
		return Inbound{}
	}
}

// killConn closes n's current connection to id as if it had failed, and reports whether there was one.
func (n *node) killConn(id NodeID) bool {
	n.mu.RLock()
	p := n.peers[id]
	n.mu.RUnlock()
	if p == nil {
		return false
	}
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c == nil {
		return false
	}
	n.lost(c, errors.New("killed by the test"))
	return true
}

// rawPeer is a hand-driven peer connection speaking the frame protocol directly.
type rawPeer struct {
	net.Conn
	fr *protocol.PeerFrameReader
}

func dialRaw(t testing.TB, addr string, hs protocol.PeerHandshake) *rawPeer {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	if err := nc.SetDeadline(time.Now().Add(overall)); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(protocol.AppendPeerHandshake(nil, hs)); err != nil {
		t.Fatal(err)
	}
	return &rawPeer{Conn: nc, fr: protocol.NewPeerFrameReader(bufio.NewReader(nc), 1<<20)}
}

// hello reads the transport's handshake answer; it returns an error if the transport closed instead.
func (r *rawPeer) hello() (protocol.PeerHandshake, error) {
	f, err := r.fr.Next()
	if err != nil {
		return protocol.PeerHandshake{}, err
	}
	return protocol.ParsePeerHandshake(f)
}

// waitClosed reads until the transport closes the connection; it fails on a timeout.
func (r *rawPeer) waitClosed(t testing.TB) {
	t.Helper()
	for {
		_, err := r.fr.Next()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection not closed before the overall deadline")
		}
		return
	}
}
