package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vsdb/vsdb/protocol"
)

func TestConfigValidate(t *testing.T) {
	good := testConfig(1)
	tests := []struct {
		name string
		mut  func(*Config)
		want []string // substrings of the error, all of them; nil = valid
	}{
		{"defaults", func(c *Config) {}, nil},
		{"zero config reports both problems", func(c *Config) { *c = Config{} }, []string{"Self is 0", "ListenAddr is empty"}},
		{"negative sizes", func(c *Config) { c.SendQueueFrames, c.BatchBytes, c.MaxPeers = -1, -2, -3 },
			[]string{"SendQueueFrames = -1", "BatchBytes = -2", "MaxPeers = -3"}},
		{"frame too large", func(c *Config) { c.MaxFrameBytes = protocol.PeerFrameMaxPayloadBytes + 1 }, []string{"MaxFrameBytes"}},
		{"negative durations", func(c *Config) { c.DialTimeout, c.HandshakeTimeout = -1, -1 },
			[]string{"DialTimeout", "HandshakeTimeout"}},
		{"backoff inverted", func(c *Config) { c.ReconnectBackoffMin, c.ReconnectBackoffMax = time.Second, time.Millisecond },
			[]string{"exceeds ReconnectBackoffMax"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mut(&c)
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := New(Config{}, func(Inbound) {}); !errors.Is(err, ErrConfig) {
		t.Fatalf("New(Config{}) err = %v", err)
	}
	if _, err := New(good, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("New with nil deliver err = %v", err)
	}
}

// exchange has every node send n frames (sizes cycling through sizes) to every other node at once and
// checks that each receiver gets each sender's frames complete and in order.
func exchange(t *testing.T, nodes []*node, n int, sizes []int) {
	var wg sync.WaitGroup
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					if err := a.Send(b.cfg.Self, seqPayload(uint64(i), sizes[i%len(sizes)])); err != nil {
						t.Errorf("node %d → %d frame %d: %v", a.cfg.Self, b.cfg.Self, i, err)
						return
					}
				}
			}()
		}
	}
	deadline := time.After(overall)
	for _, b := range nodes {
		next := map[NodeID]uint64{}
		for range n * (len(nodes) - 1) {
			m := b.recv(t, deadline)
			if seq := payloadSeq(t, m.Payload); seq != next[m.From] {
				t.Fatalf("node %d got frame %d from node %d, want %d", b.cfg.Self, seq, m.From, next[m.From])
			}
			if sz := sizes[next[m.From]%uint64(len(sizes))]; len(m.Payload) != max(sz, 8) {
				t.Fatalf("frame %d from %d has %d bytes, want %d", next[m.From], m.From, len(m.Payload), sz)
			}
			next[m.From]++
		}
	}
	wg.Wait()
}

func TestTwoTransportsOrdered(t *testing.T) {
	nodes := mesh(t, 2)
	exchange(t, nodes, 3000, []int{8, 64, 1000, 70 << 10, 4096})
	// Both dialed; the tie-break leaves one connection, and start-up lost nothing.
	for _, n := range nodes {
		if s := n.Stats(); s.ConnsAdopted != 1 || s.FramesLost != 0 || s.ConnsLost != 0 {
			t.Errorf("node %d stats %+v: want exactly one adopted connection and no loss", n.cfg.Self, s)
		}
	}
	if s := nodes[0].Stats(); s.Writes >= s.FramesSent {
		t.Errorf("no batching: %d writes for %d frames", s.Writes, s.FramesSent)
	}
}

func TestThreeTransportsOrdered(t *testing.T) {
	nodes := mesh(t, 3)
	exchange(t, nodes, 2000, []int{16, 300, 9000})
	for _, n := range nodes {
		if s := n.Stats(); s.ConnsAdopted != 2 || s.ConnsLost != 0 || s.FramesLost != 0 {
			t.Errorf("node %d stats %+v: want one connection per peer", n.cfg.Self, s)
		}
	}
}

func TestReconnectAfterKill(t *testing.T) {
	nodes := mesh(t, 2)
	a, b := nodes[0], nodes[1] // a = node 1 dials, b = node 2 accepts
	deadline := time.After(overall)
	seq := map[NodeID]uint64{}
	sendAndCheck := func(from, to *node, k int) {
		t.Helper()
		first := seq[from.cfg.Self]
		for i := range k {
			if err := from.Send(to.cfg.Self, seqPayload(first+uint64(i), 100)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range k {
			m := to.recv(t, deadline)
			if got := payloadSeq(t, m.Payload); m.From != from.cfg.Self || got != first+uint64(i) {
				t.Fatalf("node %d got frame %d from %d, want %d from %d", to.cfg.Self, got, m.From, first+uint64(i), from.cfg.Self)
			}
		}
		seq[from.cfg.Self] += uint64(k)
	}
	sendAndCheck(a, b, 10)
	sendAndCheck(b, a, 10)
	// Kill the connection at the dialing side: frames sent after that wait in the queue and arrive on
	// the next connection, complete and in order.
	for round := range 3 {
		if !a.killConn(b.cfg.Self) {
			t.Fatalf("round %d: node 1 has no connection to kill", round)
		}
		sendAndCheck(a, b, 200)
		sendAndCheck(b, a, 200) // b's traffic goes over the new connection too
		// Kill at the accepting side: it cannot win a redial (node 1 dials), node 1 reconnects.
		if !b.killConn(a.cfg.Self) {
			t.Fatalf("round %d: node 2 has no connection to kill", round)
		}
		sendAndCheck(b, a, 200)
		sendAndCheck(a, b, 200)
	}
	if s := a.Stats(); s.ConnsLost < 3 || s.ConnsAdopted < 7 {
		t.Errorf("node 1 stats %+v: want ≥3 lost and ≥7 adopted connections", s)
	}
}

func TestQueueFullUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more: dials fail, frames stay queued
	cfg := testConfig(1)
	cfg.SendQueueFrames = 8
	a := startNode(t, cfg)
	a.SetPeer(2, dead)
	for i := range 8 {
		if err := a.Send(2, seqPayload(uint64(i), 10)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := a.Send(2, seqPayload(8, 10)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("9th frame: err = %v, want ErrQueueFull", err)
	}
	// The byte bound: a frame always fits an empty queue, then the byte limit applies.
	cfg = testConfig(3)
	cfg.SendQueueBytes = 100
	c := startNode(t, cfg)
	c.SetPeer(2, dead)
	if err := c.Send(2, make([]byte, 500)); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(2, make([]byte, 1)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("over the byte bound: err = %v, want ErrQueueFull", err)
	}
	if s := a.Stats(); s.QueueFull != 1 {
		t.Fatalf("QueueFull = %d, want 1", s.QueueFull)
	}
}

// A receiver whose deliver blocks stops reading; the socket buffers fill, the sender's queue fills, and
// Send reports ErrQueueFull without blocking. Releasing the receiver delivers every accepted frame in order.
func TestBackpressureEndToEnd(t *testing.T) {
	gate := make(chan struct{})
	var openGate sync.Once
	var (
		mu   sync.Mutex
		got  []uint64
		want = -1
	)
	done := make(chan struct{})
	b, err := New(testConfig(2), func(m Inbound) {
		<-gate
		mu.Lock()
		defer mu.Unlock()
		got = append(got, binary.BigEndian.Uint64(m.Payload))
		if len(got) == want {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	defer openGate.Do(func() { close(gate) }) // before b.Close, even on failure
	acfg := testConfig(1)
	acfg.SendQueueFrames = 4
	a := startNode(t, acfg)
	a.SetPeer(2, b.Addr().String())
	const size = 256 << 10
	sent := 0
	for ; ; sent++ {
		err := a.Send(2, seqPayload(uint64(sent), size))
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent > 100000 { // 25 GB would have to sit in socket buffers
			t.Fatal("Send never reported ErrQueueFull")
		}
	}
	mu.Lock()
	want = sent
	mu.Unlock()
	openGate.Do(func() { close(gate) })
	select {
	case <-done:
	case <-time.After(overall):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("only %d of %d frames delivered", len(got), sent)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range got {
		if s != uint64(i) {
			t.Fatalf("delivery %d is frame %d", i, s)
		}
	}
	if s := a.Stats(); s.QueueFull != 1 || s.FramesLost != 0 {
		t.Fatalf("sender stats %+v", s)
	}
	t.Logf("%d frames of %d KiB accepted before ErrQueueFull (queue bound 4)", sent, size>>10)
}

// A bad frame from a peer closes that connection, is counted, and nothing after it is delivered.
func TestBadFrameClosesConnection(t *testing.T) {
	flip := func(i int, bit byte) []byte {
		f := protocol.AppendPeerFrame(nil, 0, []byte("corrupt"))
		f[i] ^= bit
		return f
	}
	tests := []struct {
		name      string
		frame     []byte
		checksums uint64 // expected ChecksumErrors
		framing   uint64 // expected FrameErrors
	}{
		{"payload bit flip", flip(protocol.PeerFrameHeaderBytes+2, 0x20), 1, 0},
		{"checksum field", flip(9, 0x01), 1, 0},
		{"magic", flip(0, 0xff), 0, 1},
		{"version", flip(2, 0x03), 0, 1},
		{"too large", protocol.AppendPeerFrame(nil, 0, make([]byte, 2000)), 0, 1},
		{"second handshake", protocol.AppendPeerHandshake(nil, protocol.PeerHandshake{NodeID: 9, ClusterID: testCluster}), 0, 1},
		{"unknown flags", protocol.AppendPeerFrame(nil, 0x80, []byte("x")), 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(2)
			cfg.MaxFrameBytes = 1000
			b := startNode(t, cfg)
			r := dialRaw(t, b.Addr().String(), protocol.PeerHandshake{NodeID: 9, Incarnation: 1, ClusterID: testCluster})
			hs, err := r.hello()
			if err != nil || hs.NodeID != 2 || hs.ClusterID != testCluster {
				t.Fatalf("handshake answer %+v, %v", hs, err)
			}
			stream := protocol.AppendPeerFrame(nil, 0, seqPayload(1, 20))
			stream = append(stream, tc.frame...)
			stream = protocol.AppendPeerFrame(stream, 0, seqPayload(2, 20))
			if _, err := r.Write(stream); err != nil {
				t.Fatal(err)
			}
			r.waitClosed(t)
			if m := b.recv(t, time.After(overall)); m.From != 9 || payloadSeq(t, m.Payload) != 1 {
				t.Fatalf("first delivery %+v", m)
			}
			select {
			case m := <-b.in:
				t.Fatalf("delivered %+v after the bad frame", m)
			default:
			}
			if s := b.Stats(); s.ChecksumErrors != tc.checksums || s.FrameErrors != tc.framing || s.ConnsLost != 1 {
				t.Fatalf("stats %+v: want %d checksum errors, %d framing errors, 1 lost connection", s, tc.checksums, tc.framing)
			}
			// Node 9 was an inbound-only peer: it is forgotten with its connection.
			if err := b.Send(9, []byte("x")); !errors.Is(err, ErrUnknownPeer) {
				t.Fatalf("Send to the forgotten peer: %v", err)
			}
		})
	}
}

func TestHandshakeRules(t *testing.T) {
	a := startNode(t, testConfig(1))
	hs := func(id NodeID, inc uint64) protocol.PeerHandshake {
		return protocol.PeerHandshake{NodeID: uint64(id), Incarnation: inc, ClusterID: testCluster}
	}
	// Wrong cluster, or our own id: closed without an answer.
	for _, h := range []protocol.PeerHandshake{{NodeID: 7, ClusterID: 99}, hs(1, 1), hs(0, 1)} {
		r := dialRaw(t, a.Addr().String(), h)
		if _, err := r.hello(); err == nil {
			t.Fatalf("handshake %+v answered", h)
		}
	}
	// A handshake frame larger than 1 KiB is refused before it is buffered.
	big, err := net.Dial("tcp", a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if err := big.SetDeadline(time.Now().Add(overall)); err != nil {
		t.Fatal(err)
	}
	if _, err := big.Write(protocol.AppendPeerFrame(nil, protocol.PeerFlagHandshake, make([]byte, 2000))); err != nil {
		t.Fatal(err)
	}
	(&rawPeer{Conn: big, fr: protocol.NewPeerFrameReader(big, 1<<20)}).waitClosed(t)
	if s := a.Stats(); s.HandshakeFailures != 4 {
		t.Fatalf("HandshakeFailures = %d, want 4", s.HandshakeFailures)
	}
	// Tie-break: node 1 knows node 5's address, so it dials node 5 itself and refuses node 5's dial.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a.SetPeer(5, ln.Addr().String())
	if r := dialRaw(t, a.Addr().String(), hs(5, 1)); func() error { _, err := r.hello(); return err }() == nil {
		t.Fatal("inbound connection from a higher node with a known address was answered")
	}
	a.RemovePeer(5)
	// Incarnations: an older one is refused, a newer one replaces the connection.
	r4 := dialRaw(t, a.Addr().String(), hs(6, 4))
	if _, err := r4.hello(); err != nil {
		t.Fatal(err)
	}
	if _, err := dialRaw(t, a.Addr().String(), hs(6, 3)).hello(); err == nil {
		t.Fatal("older incarnation answered")
	}
	r5 := dialRaw(t, a.Addr().String(), hs(6, 5))
	if _, err := r5.hello(); err != nil {
		t.Fatal(err)
	}
	r4.waitClosed(t) // replaced
	if err := a.Send(6, seqPayload(42, 8)); err != nil {
		t.Fatal(err)
	}
	f, err := r5.fr.Next()
	if err != nil || payloadSeq(t, f.Payload) != 42 {
		t.Fatalf("frame on the new connection: %+v, %v", f, err)
	}
	// Another frame after the handshake with the handshake flag is a framing error.
	r5.Close()
	if s := a.Stats(); s.ConnsReplaced != 1 || s.ConnsRefused != 2 {
		t.Fatalf("stats %+v: want 1 replaced, 2 refused", s)
	}
}

func TestDialWrongNode(t *testing.T) {
	b := startNode(t, testConfig(2))
	lines := make(chan string, 1024)
	cfg := testConfig(1)
	cfg.Logf = func(format string, args ...any) {
		select {
		case lines <- fmt.Sprintf(format, args...):
		default:
		}
	}
	a := startNode(t, cfg)
	a.SetPeer(5, b.Addr().String()) // node 2 answers there
	deadline := time.After(overall)
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, "is node 2, not node 5") {
				if err := a.Send(5, []byte("x")); err != nil {
					t.Fatal(err) // still queued for node 5
				}
				return
			}
		case <-deadline:
			t.Fatal("no handshake failure for the wrong node")
		}
	}
}

func TestSendErrors(t *testing.T) {
	cfg := testConfig(1)
	cfg.MaxFrameBytes = 100
	a := startNode(t, cfg)
	a.SetPeer(1, "127.0.0.1:1") // self: ignored
	for _, tc := range []struct {
		id   NodeID
		n    int
		want error
	}{{1, 1, ErrUnknownPeer}, {2, 1, ErrUnknownPeer}, {2, 101, ErrFrameTooLarge}} {
		if err := a.Send(tc.id, make([]byte, tc.n)); !errors.Is(err, tc.want) {
			t.Errorf("Send(%d, %d bytes) = %v, want %v", tc.id, tc.n, err, tc.want)
		}
	}
	a.SetPeer(2, "")
	if err := a.Send(2, []byte("queued")); err != nil {
		t.Fatal(err)
	}
	a.RemovePeer(2)
	if err := a.Send(2, []byte("x")); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("after RemovePeer: %v", err)
	}
	if s := a.Stats(); s.FramesLost != 1 {
		t.Fatalf("FramesLost = %d, want 1 (the queued frame of the removed peer)", s.FramesLost)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(2, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := a.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// Close stops every goroutine, including ones blocked in a handshake, a dial backoff and a deliver
// backlog, and leaves nothing behind.
func TestCloseLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	nodes := mesh(t, 3)
	exchange(t, nodes, 100, []int{64})
	nodes[0].SetPeer(9, "127.0.0.1:1") // dials that fail, in backoff
	// A connection that never sends its handshake (the handshake timeout is a minute).
	nc, err := net.Dial("tcp", nodes[1].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, n := range nodes {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A node that stops and restarts on the same address with a higher incarnation is reconnected to, and
// traffic flows both ways again, in order.
func TestRestartSameAddress(t *testing.T) {
	nodes := mesh(t, 2)
	a, b := nodes[0], nodes[1]
	deadline := time.After(overall)
	if err := a.Send(2, seqPayload(0, 10)); err != nil {
		t.Fatal(err)
	}
	b.recv(t, deadline)
	addr := b.Addr().String()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(2)
	cfg.ListenAddr, cfg.Incarnation = addr, 2
	b2 := startNode(t, cfg)
	b2.SetPeer(1, a.Addr().String())
	// b2 is the higher node: a refuses its dial and dials b2 itself. b2's frame arrives once a adopted
	// the new connection; a's frames sent after that arrive complete and in order.
	if err := b2.Send(1, seqPayload(7, 10)); err != nil {
		t.Fatal(err)
	}
	if m := a.recv(t, deadline); m.From != 2 || payloadSeq(t, m.Payload) != 7 {
		t.Fatalf("a got %+v", m)
	}
	for i := range 100 {
		if err := a.Send(2, seqPayload(uint64(100+i), 500)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if m := b2.recv(t, deadline); payloadSeq(t, m.Payload) != uint64(100+i) {
			t.Fatalf("b2 frame %d is %d", i, payloadSeq(t, m.Payload))
		}
	}
	if s := a.Stats(); s.ConnsAdopted != 2 {
		t.Fatalf("a stats %+v: want 2 adopted connections", s)
	}
}
