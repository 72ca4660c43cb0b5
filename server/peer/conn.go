package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vsdb/vsdb/protocol"
)

// readBufBytes is the size of each connection's read buffer.
const readBufBytes = 64 << 10

// handshakeMaxBytes bounds a handshake frame's payload, so that a connection in its handshake (not yet
// known to be a peer) cannot make the transport buffer MaxFrameBytes.
const handshakeMaxBytes = 1 << 10

// conn is one TCP connection to a peer that completed its handshake.
type conn struct {
	nc        net.Conn
	fr        *protocol.PeerFrameReader // over a bufio.Reader of nc; it may hold frames read with the handshake
	p         *peer
	remote    NodeID // the peer's node id from its handshake
	initiator NodeID // who dialed: Self (outbound) or remote (inbound)
	remoteInc uint64 // the peer's incarnation from its handshake
	adoptedAt time.Time
	closeOnce sync.Once
}

func (c *conn) close() { c.closeOnce.Do(func() { _ = c.nc.Close() }) }

func (t *Transport) hello() []byte {
	return protocol.AppendPeerHandshake(nil, protocol.PeerHandshake{
		NodeID: uint64(t.cfg.Self), Incarnation: t.cfg.Incarnation, ClusterID: t.cfg.ClusterID})
}

// readHello reads and checks the peer's handshake frame. want is the expected node id, 0 for any.
func (t *Transport) readHello(nc net.Conn, want NodeID) (*conn, error) {
	br := bufio.NewReaderSize(nc, readBufBytes)
	f, err := protocol.NewPeerFrameReader(br, handshakeMaxBytes).Next()
	if err != nil {
		return nil, fmt.Errorf("%w: reading handshake from %s: %w", ErrHandshake, nc.RemoteAddr(), err)
	}
	hs, err := protocol.ParsePeerHandshake(f)
	if err != nil {
		return nil, fmt.Errorf("%w: from %s: %w", ErrHandshake, nc.RemoteAddr(), err)
	}
	id := NodeID(hs.NodeID)
	switch {
	case hs.ClusterID != t.cfg.ClusterID:
		return nil, fmt.Errorf("%w: %s is in cluster %#x, not %#x", ErrHandshake, nc.RemoteAddr(), hs.ClusterID, t.cfg.ClusterID)
	case id == 0 || id == t.cfg.Self:
		return nil, fmt.Errorf("%w: %s claims node id %d", ErrHandshake, nc.RemoteAddr(), id)
	case want != 0 && id != want:
		return nil, fmt.Errorf("%w: %s is node %d, not node %d", ErrHandshake, nc.RemoteAddr(), id, want)
	}
	// The data frames that follow use the same buffered reader (it may already hold some of them).
	fr := protocol.NewPeerFrameReader(br, t.cfg.MaxFrameBytes)
	return &conn{nc: nc, fr: fr, remote: id, remoteInc: hs.Incarnation}, nil
}

func setNoDelay(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
}

// dial connects to p at addr, runs the dialer's side of the handshake and adopts the connection.
// Called only by p's owner loop, and only when p has no connection.
func (t *Transport) dial(p *peer, addr string) error {
	t.stats.dials.Add(1)
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	cancel()
	if err != nil {
		return err
	}
	if !t.track(nc) {
		_ = nc.Close()
		return ErrClosed
	}
	p.mu.Lock()
	removed := p.removed
	p.dialing = nc // RemovePeer closes it
	p.mu.Unlock()
	var c *conn
	if removed {
		err = ErrUnknownPeer
	} else {
		c, err = t.dialHandshake(nc, p.id)
	}
	p.mu.Lock()
	p.dialing = nil
	p.mu.Unlock()
	t.untrack(nc)
	if err != nil {
		_ = nc.Close()
		return err
	}
	if !t.settle(p, c, false, true) {
		return fmt.Errorf("%w: connection to node %d refused by the tie-break", ErrHandshake, p.id)
	}
	return nil
}

func (t *Transport) dialHandshake(nc net.Conn, want NodeID) (*conn, error) {
	setNoDelay(nc)
	if err := nc.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout)); err != nil {
		return nil, err
	}
	if _, err := nc.Write(t.hello()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	c, err := t.readHello(nc, want)
	if err != nil {
		return nil, err
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	c.initiator = t.cfg.Self
	return c, nil
}

// acceptLoop accepts peer connections until Close closes the listener.
func (t *Transport) acceptLoop() {
	defer t.wg.Done()
	const minWait, maxWait = 5 * time.Millisecond, time.Second
	wait := minWait
	for {
		nc, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.logf("accept: %v", err) // e.g. out of file descriptors: wait, then go on
			timer := time.NewTimer(wait)
			select {
			case <-t.done:
				timer.Stop()
				return
			case <-timer.C:
			}
			wait = min(2*wait, maxWait)
			continue
		}
		wait = minWait
		select {
		case t.hsSlots <- struct{}{}:
		default:
			t.stats.connsRefused.Add(1)
			t.logf("refusing %s: %d handshakes in progress", nc.RemoteAddr(), cap(t.hsSlots))
			_ = nc.Close()
			continue
		}
		if !t.track(nc) {
			_ = nc.Close()
			<-t.hsSlots
			return
		}
		t.wg.Add(1)
		go t.acceptHandshake(nc)
	}
}

// acceptHandshake runs the acceptor's side of the handshake of one inbound connection and adopts it.
func (t *Transport) acceptHandshake(nc net.Conn) {
	defer t.wg.Done()
	defer func() { <-t.hsSlots }()
	defer t.untrack(nc)
	setNoDelay(nc)
	if err := nc.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout)); err != nil {
		_ = nc.Close()
		return
	}
	c, err := t.readHello(nc, 0)
	if err != nil {
		t.stats.handshakeFailures.Add(1)
		t.logf("inbound: %v", err)
		_ = nc.Close()
		return
	}
	c.initiator = c.remote
	p, err := t.lookupInbound(c.remote)
	if err != nil {
		t.stats.connsRefused.Add(1)
		t.logf("inbound from node %d: %v", c.remote, err)
		_ = nc.Close()
		return
	}
	// Refuse before answering, so a losing dialer never writes data on a connection that is dropped.
	if !t.settle(p, c, true, false) {
		return
	}
	_, err = nc.Write(t.hello())
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		t.stats.handshakeFailures.Add(1)
		t.abandonInbound(p)
		_ = nc.Close()
		return
	}
	t.settle(p, c, true, true)
}

// lookupInbound finds or creates (inbound-only) the peer of an inbound handshake and pins it until
// settle or abandonInbound.
func (t *Transport) lookupInbound(id NodeID) (*peer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	p := t.peers[id]
	if p == nil {
		if len(t.peers) >= t.cfg.MaxPeers {
			return nil, fmt.Errorf("peer: %d peers already (MaxPeers)", len(t.peers))
		}
		p = t.newPeerLocked(id, true)
	}
	p.mu.Lock()
	p.adopting++
	p.mu.Unlock()
	return p, nil
}

// decideLocked applies the connection rules of the package documentation to a handshaken connection c
// of p. It returns whether c is to be adopted, and whether p's current connection is to be dropped
// anyway (it belongs to an older incarnation of the peer). t.mu and p.mu are held.
func (t *Transport) decideLocked(p *peer, c *conn) (adopt, dropCur bool) {
	if p.removed || c.remoteInc < p.maxInc {
		return false, false
	}
	cur := p.conn
	if c.initiator != t.cfg.Self { // inbound
		if t.cfg.Self < p.id && p.addr != "" {
			// We dial this higher peer ourselves: our outbound connection wins the tie-break.
			return false, cur != nil && c.remoteInc > cur.remoteInc
		}
		return true, false // the initiator dials only without a connection: it abandoned cur
	}
	// outbound: a connection adopted while we dialed is kept if the lower node initiated it, unless it
	// belongs to an older incarnation.
	if cur != nil && cur.initiator < t.cfg.Self && c.remoteInc <= cur.remoteInc {
		return false, false
	}
	return true, false
}

// settle decides on connection c of p. With commit it adopts c (starting its reader) or refuses it
// (closing it); without commit it only refuses (a pre-check before the acceptor answers) and otherwise
// leaves the decision to a later settle. It reports whether c is (or may be) adopted.
func (t *Transport) settle(p *peer, c *conn, inbound, commit bool) bool {
	t.mu.Lock()
	p.mu.Lock()
	ok, dropCur := t.decideLocked(p, c)
	var old *conn
	switch {
	case ok && !commit:
	case ok:
		if inbound {
			p.adopting--
		}
		old = p.conn
		c.p, c.adoptedAt = p, time.Now()
		p.conn = c
		p.maxInc = max(p.maxInc, c.remoteInc)
		t.wg.Add(1)
		go t.readLoop(c)
	default:
		if inbound {
			p.adopting--
		}
		if dropCur {
			old, p.conn = p.conn, nil
		}
		t.forgetIdleLocked(p)
	}
	p.mu.Unlock()
	t.mu.Unlock()
	if !commit && ok {
		return true
	}
	p.signal()
	switch {
	case old != nil && ok:
		t.stats.connsReplaced.Add(1)
		old.close()
	case old != nil:
		t.stats.connsLost.Add(1)
		t.logf("node %d restarted (incarnation %d): dropping the old connection", p.id, c.remoteInc)
		old.close()
	}
	if ok {
		t.stats.connsAdopted.Add(1)
	} else {
		t.stats.connsRefused.Add(1)
		c.close()
	}
	return ok
}

// abandonInbound unpins p after a failed inbound handshake.
func (t *Transport) abandonInbound(p *peer) {
	t.mu.Lock()
	p.mu.Lock()
	p.adopting--
	t.forgetIdleLocked(p)
	p.mu.Unlock()
	t.mu.Unlock()
	p.signal()
}

// forgetIdleLocked removes an inbound-only peer that has no connection and no handshake in progress.
// t.mu and p.mu are held.
func (t *Transport) forgetIdleLocked(p *peer) {
	if !p.inboundOnly || p.removed || p.conn != nil || p.adopting > 0 {
		return
	}
	delete(t.peers, p.id)
	p.removed = true
	t.stats.framesLost.Add(uint64(p.queue.clear()))
}

// lost detaches c from its peer after an error (if it is still current) and closes it.
func (t *Transport) lost(c *conn, err error) {
	p := c.p
	t.mu.Lock()
	p.mu.Lock()
	mine := p.conn == c
	if mine {
		p.conn = nil
		t.forgetIdleLocked(p)
	}
	p.mu.Unlock()
	t.mu.Unlock()
	if mine {
		t.stats.connsLost.Add(1)
		t.logf("connection to node %d lost: %v", p.id, err)
		p.signal()
	}
	c.close()
}

// readLoop decodes c's frames and delivers them until c fails or is no longer p's current connection.
func (t *Transport) readLoop(c *conn) {
	defer t.wg.Done()
	p := c.p
	for {
		f, err := c.fr.Next()
		if err != nil {
			switch {
			case errors.Is(err, protocol.ErrPeerFrameChecksum):
				t.stats.checksumErrors.Add(1)
			case errors.Is(err, protocol.ErrPeerFrameMagic), errors.Is(err, protocol.ErrPeerFrameVersion),
				errors.Is(err, protocol.ErrPeerFrameTooLarge):
				t.stats.frameErrors.Add(1)
			}
			t.lost(c, err)
			return
		}
		if f.Flags != 0 {
			t.stats.frameErrors.Add(1)
			t.lost(c, fmt.Errorf("unexpected frame flags %#02x after the handshake", f.Flags))
			return
		}
		t.stats.framesReceived.Add(1)
		t.stats.bytesReceived.Add(uint64(len(f.Payload)))
		p.deliverMu.Lock()
		p.mu.Lock()
		live := p.conn == c
		p.mu.Unlock()
		if live {
			t.deliver(Inbound{From: p.id, Payload: f.Payload})
		}
		p.deliverMu.Unlock()
		if !live { // replaced or removed: whoever did it closed c
			t.stats.framesLost.Add(1)
			c.close()
			return
		}
	}
}
