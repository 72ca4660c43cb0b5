package peer

import (
	"net"
	"time"

	"github.com/vsdb/vsdb/protocol"
)

// run is p's owner loop: the only goroutine that dials p and writes to p's connections.
//
// Each turn: if p was removed, return; if p has a connection, write one batch of queued frames to it
// (or wait for a frame); if not, dial p's address once the backoff allows (or wait for an address or
// for an inbound connection). Backoff: a failed dial, or a lost connection that lived less than
// ReconnectBackoffMax, doubles the wait (from ReconnectBackoffMin up to ReconnectBackoffMax, jittered);
// a lost connection that lived longer waits ReconnectBackoffMin; SetPeer with a new address dials at once.
func (p *peer) run() {
	t := p.t
	defer t.wg.Done()
	var (
		batch    [][]byte
		w        batchWriter
		backoff  time.Duration // 0: the next dial need not wait
		nextDial time.Time
		last     *conn // the connection seen on the previous turn
	)
	grow := func() {
		if backoff == 0 {
			backoff = t.cfg.ReconnectBackoffMin
		} else {
			backoff = min(2*backoff, t.cfg.ReconnectBackoffMax)
		}
		nextDial = time.Now().Add(t.jitter(backoff))
	}
	for {
		p.mu.Lock()
		if p.removed {
			p.mu.Unlock()
			return
		}
		c := p.conn
		if c != last {
			if c == nil { // lost
				if time.Since(last.adoptedAt) > t.cfg.ReconnectBackoffMax {
					backoff = 0
				}
				grow()
			}
			last = c
		}
		if p.redial {
			p.redial, backoff, nextDial = false, 0, time.Time{}
		}
		if c != nil {
			batch = p.queue.popBatch(batch[:0], t.cfg.BatchBytes, protocol.PeerFrameHeaderBytes)
			p.mu.Unlock()
			if len(batch) == 0 {
				if !p.wait(0) {
					return
				}
				continue
			}
			n, err := w.write(c.nc, batch, t.cfg.BatchBytes)
			clear(batch) // drop references to written payloads
			if err != nil {
				t.stats.framesLost.Add(uint64(len(batch)))
				t.lost(c, err)
				continue
			}
			t.stats.writes.Add(1)
			t.stats.framesSent.Add(uint64(len(batch)))
			t.stats.bytesSent.Add(uint64(n))
			continue
		}
		addr := p.addr
		p.mu.Unlock()
		if addr == "" {
			if !p.wait(0) {
				return
			}
			continue
		}
		if d := time.Until(nextDial); d > 0 {
			if !p.wait(d) {
				return
			}
			continue
		}
		if err := t.dial(p, addr); err != nil {
			t.stats.dialFailures.Add(1)
			t.logf("dial node %d at %s: %v", p.id, addr, err)
			grow()
		}
	}
}

// wait blocks until p is signalled, d elapses (d > 0), or the transport closes (false).
func (p *peer) wait(d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-p.wake:
	case <-timeout:
	case <-p.t.done:
		return false
	}
	return true
}

// inlineMaxBytes is the largest payload a batch copies into its buffer; larger payloads are written from
// the caller's slice by the vectored write.
const inlineMaxBytes = 16 << 10

// batchWriter encodes a batch of frames and writes it with one (vectored) write. Its buffers are reused
// from batch to batch and trimmed when a batch made them much larger than BatchBytes.
type batchWriter struct {
	buf   []byte   // headers and inline payloads
	cuts  []int    // buf offsets after which an external payload goes
	ext   [][]byte // the external payloads, one per cut
	iovec [][]byte
}

// write writes batch to nc and returns the payload bytes written.
func (w *batchWriter) write(nc net.Conn, batch [][]byte, batchBytes int) (int, error) {
	w.buf, w.cuts, w.ext = w.buf[:0], w.cuts[:0], w.ext[:0]
	payload := 0
	for _, b := range batch {
		payload += len(b)
		w.buf = protocol.AppendPeerFrameHeader(w.buf, 0, b)
		if len(b) <= inlineMaxBytes {
			w.buf = append(w.buf, b...)
			continue
		}
		w.cuts = append(w.cuts, len(w.buf))
		w.ext = append(w.ext, b)
	}
	var err error
	if len(w.ext) == 0 {
		_, err = nc.Write(w.buf)
	} else {
		w.iovec = w.iovec[:0]
		lo := 0
		for i, cut := range w.cuts {
			w.iovec = append(w.iovec, w.buf[lo:cut], w.ext[i])
			lo = cut
		}
		if lo < len(w.buf) {
			w.iovec = append(w.iovec, w.buf[lo:])
		}
		bufs := net.Buffers(w.iovec)
		_, err = bufs.WriteTo(nc)
		clear(w.iovec)
		clear(w.ext)
	}
	if cap(w.buf) > 4*batchBytes {
		w.buf = nil
	}
	return payload, err
}
