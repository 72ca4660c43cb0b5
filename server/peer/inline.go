package peer

import "github.com/vsdb/vsdb/protocol"

/*
Inline writes. A Send that finds its peer connected, idle (no goroutine writing) and with an empty queue
writes the frame itself, with one non-blocking write system call, instead of queueing it and waking the
peer's owner loop. This saves a goroutine hand-off (on a lightly loaded node, a thread wake-up) per
frame, and frames a caller sends to several peers leave in the order of its Send calls.

Invariants:
  - at most one goroutine writes to a peer's connection at a time: the one that set peer.writing under
    peer.mu (an inline Send, or the owner loop for a batch); the other waits (the owner loop) or queues
    (a Send);
  - the bytes of one frame are contiguous on the connection: an inline write that the socket accepts
    only in part leaves the tail in peer.rest, and the owner loop writes it before any other frame (or
    drops it with its connection, which a half-written frame has made unusable);
  - an inline write never blocks: a full socket buffer (EAGAIN) leaves the whole frame in peer.rest for
    the owner loop, whose blocking write is the backpressure path of the package documentation.
*/

// writeInline writes payload as one frame to c, p's connection, from the Send caller's goroutine. The
// caller set p.writing; writeInline clears it.
func (t *Transport) writeInline(p *peer, c *conn, payload []byte) {
	buf := protocol.AppendPeerFrameHeader(p.inlineBuf[:0], 0, payload)
	buf = append(buf, payload...)
	n, err := writeNonBlocking(c.raw, buf)
	if n == len(buf) {
		t.stats.writes.Add(1)
		t.stats.inlineWrites.Add(1)
		t.stats.framesSent.Add(1)
		t.stats.bytesSent.Add(uint64(len(payload)))
	}
	var rest []byte
	if err == nil && n < len(buf) {
		rest = append([]byte(nil), buf[n:]...) // the owner loop's; inlineBuf is reused
	}
	if cap(buf) <= 4*t.cfg.BatchBytes {
		p.inlineBuf = buf
	} else {
		p.inlineBuf = nil
	}
	p.mu.Lock()
	p.writing = false
	if rest != nil {
		p.rest, p.restConn = rest, c
		t.stats.inlinePartial.Add(1)
	}
	p.mu.Unlock()
	if err != nil {
		t.stats.framesLost.Add(1)
		t.lost(c, err)
		return
	}
	p.signal() // the owner loop writes rest and whatever was queued meanwhile
}
