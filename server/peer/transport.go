package peer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Inbound is one payload received from a peer.
type Inbound struct {
	// From is the sending node.
	From NodeID
	// Payload is the frame's payload; the receiver owns it.
	Payload []byte
}

// Transport is a TCP peer transport (see the package documentation for the protocol and its invariants).
// Its methods are safe for concurrent use.
type Transport struct {
	cfg     Config
	deliver func(Inbound)
	ln      net.Listener
	ctx     context.Context // cancelled by Close: aborts dials
	cancel  context.CancelFunc
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
	hsSlots chan struct{} // semaphore of inbound handshakes in progress
	stats   counters

	mu      sync.RWMutex // guards the fields below; lock order: Transport.mu, then peer.mu
	closed  bool
	peers   map[NodeID]*peer
	pending map[net.Conn]struct{} // connections in their handshake, closed by Close
	rngMu   sync.Mutex            // guards rng only: a leaf lock (peer.run holds its peer's lock when it asks for jitter)
	rng     *rand.Rand            // backoff jitter; seeded from Self and Incarnation
}

// peer is the state of one remote node. Its owner loop (run) is the only writer to its connections.
type peer struct {
	t    *Transport
	id   NodeID
	wake chan struct{} // capacity 1: "state changed, look again"

	// deliverMu is held by a reader while it checks that its connection is current and delivers, so that
	// a replaced connection never delivers after its replacement started delivering.
	deliverMu sync.Mutex

	mu          sync.Mutex // guards the fields below
	addr        string     // "" = do not dial (inbound-only peer, or SetPeer with no address)
	inboundOnly bool       // learned from an inbound handshake, never SetPeer: forgotten when its connection ends
	removed     bool       // RemovePeer or Close: the owner loop exits, nothing is adopted any more
	conn        *conn      // the adopted connection, nil if none
	dialing     net.Conn   // the owner loop's connection in its handshake, closed by removal
	adopting    int        // inbound handshakes of this peer between lookup and adopt (keeps an inbound-only peer alive)
	maxInc      uint64     // largest incarnation seen in a handshake from this node
	redial      bool       // SetPeer changed the address: dial without waiting for the backoff
	queue       frameQueue
}

func (p *peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// New starts a transport listening on cfg.ListenAddr. deliver is called from the transport's reader
// goroutines, one at a time per peer and in that peer's send order; it must not block for long, because
// while it runs that peer's connection is not read (see the package documentation). It must not call
// Close.
func New(cfg Config, deliver func(Inbound)) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deliver == nil {
		return nil, fmt.Errorf("%w: deliver is nil", ErrConfig)
	}
	cfg = cfg.WithDefaults()
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("peer: listen %s: %w", cfg.ListenAddr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg: cfg, deliver: deliver, ln: ln, ctx: ctx, cancel: cancel,
		done:    make(chan struct{}),
		hsSlots: make(chan struct{}, cfg.MaxPendingHandshakes),
		peers:   make(map[NodeID]*peer),
		pending: make(map[net.Conn]struct{}),
		rng:     rand.New(rand.NewPCG(uint64(cfg.Self), cfg.Incarnation)),
	}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr returns the address the transport listens on.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// Stats returns a snapshot of the transport's counters.
func (t *Transport) Stats() Stats { return t.stats.snapshot() }

// SetPeer adds a peer or updates its address. An empty addr means "do not dial; accept its connections".
// A changed address is dialed at once (the backoff restarts); an existing connection is kept. SetPeer for
// Self, or after Close, does nothing.
func (t *Transport) SetPeer(id NodeID, addr string) {
	if id == t.cfg.Self || id == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	p := t.peers[id]
	if p == nil {
		p = t.newPeerLocked(id, false)
	}
	p.mu.Lock()
	p.inboundOnly = false
	if p.addr != addr {
		p.addr, p.redial = addr, true
	}
	p.mu.Unlock()
	p.signal()
}

// newPeerLocked creates a peer and starts its owner loop. t.mu must be held and t not closed.
func (t *Transport) newPeerLocked(id NodeID, inboundOnly bool) *peer {
	p := &peer{t: t, id: id, wake: make(chan struct{}, 1), inboundOnly: inboundOnly,
		queue: newFrameQueue(t.cfg.SendQueueFrames, t.cfg.SendQueueBytes)}
	t.peers[id] = p
	t.wg.Add(1)
	go p.run()
	return p
}

// RemovePeer forgets a peer: its connection is closed, its queued frames are dropped and its owner loop
// ends. A later inbound connection from it is accepted as an inbound-only peer.
func (t *Transport) RemovePeer(id NodeID) {
	t.mu.Lock()
	p := t.peers[id]
	if p == nil {
		t.mu.Unlock()
		return
	}
	c := t.removePeerLocked(p)
	t.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// removePeerLocked deletes p from the table, marks it removed, drops its queue and returns its
// connection, which the caller closes after unlocking. t.mu must be held.
func (t *Transport) removePeerLocked(p *peer) *conn {
	delete(t.peers, p.id)
	p.mu.Lock()
	p.removed = true
	c := p.conn
	p.conn = nil
	if p.dialing != nil {
		_ = p.dialing.Close()
	}
	t.stats.framesLost.Add(uint64(p.queue.clear()))
	p.mu.Unlock()
	p.signal()
	return c
}

// Send queues payload for peer id and returns at once. The transport keeps payload until it is written:
// the caller must not modify it afterwards. Errors: ErrQueueFull when the peer's queue is at its bound,
// ErrUnknownPeer, ErrFrameTooLarge, ErrClosed.
func (t *Transport) Send(id NodeID, payload []byte) error {
	if len(payload) > t.cfg.MaxFrameBytes {
		return fmt.Errorf("%w: %d bytes to node %d", ErrFrameTooLarge, len(payload), id)
	}
	t.mu.RLock()
	closed, p := t.closed, t.peers[id]
	t.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if p == nil {
		return fmt.Errorf("%w: node %d", ErrUnknownPeer, id)
	}
	p.mu.Lock()
	if p.removed {
		p.mu.Unlock()
		return fmt.Errorf("%w: node %d", ErrUnknownPeer, id)
	}
	ok := p.queue.push(payload)
	p.mu.Unlock()
	if !ok {
		t.stats.queueFull.Add(1)
		return fmt.Errorf("%w: node %d", ErrQueueFull, id)
	}
	p.signal()
	return nil
}

// Close stops the transport: it closes the listener and every connection, drops every queued frame,
// and waits until every goroutine of the transport has returned. Later calls return ErrClosed.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	t.closed = true
	var conns []*conn
	for _, p := range t.peers {
		if c := t.removePeerLocked(p); c != nil {
			conns = append(conns, c)
		}
	}
	pending := make([]net.Conn, 0, len(t.pending))
	for nc := range t.pending {
		pending = append(pending, nc)
	}
	t.mu.Unlock()

	t.cancel()
	close(t.done)
	err := t.ln.Close()
	for _, c := range conns {
		c.close()
	}
	for _, nc := range pending {
		_ = nc.Close()
	}
	t.wg.Wait()
	return err
}

// track registers a connection in its handshake so that Close can interrupt it; false if closed.
func (t *Transport) track(nc net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.pending[nc] = struct{}{}
	return true
}

func (t *Transport) untrack(nc net.Conn) {
	t.mu.Lock()
	delete(t.pending, nc)
	t.mu.Unlock()
}

func (t *Transport) logf(format string, args ...any) {
	if t.cfg.Logf != nil {
		t.cfg.Logf("peer %d: "+format, append([]any{t.cfg.Self}, args...)...)
	}
}

// jitter returns d scaled by a random factor in [0.75, 1.25).
func (t *Transport) jitter(d time.Duration) time.Duration {
	// Not t.mu: peer.run calls this holding its peer's lock, and Close takes t.mu then each peer's
	// lock (removePeerLocked), so t.mu here would invert the lock order and deadlock.
	t.rngMu.Lock()
	f := 0.75 + 0.5*t.rng.Float64()
	t.rngMu.Unlock()
	return time.Duration(float64(d) * f)
}
