package server

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"
	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/protocol"
)

// conn is one client connection. Its goroutine (serve) is the only one that reads, dispatches and
// writes; other goroutines touch only the fields guarded by mu (CLIENT LIST/KILL) and the socket's
// deadlines (shutdown).
//
// Invariants:
//   - replies are written in command order: each command appends its reply to out before the next one
//     is read;
//   - out is written to the socket when the reader is about to block (the pipelined batch is complete),
//     or earlier once it exceeds ReplyFlushBytes, so one connection never holds more than
//     ReplyFlushBytes plus one reply (and a client that does not read blocks only its own goroutine);
//   - after a protocol error or QUIT the reply is flushed and the connection closed.
type conn struct {
	n    *Node
	nc   net.Conn
	id   int64
	rd   *protocol.Reader
	out  []byte
	born time.Time

	authenticated bool
	closeAfter    bool        // QUIT / protocol error: flush and close after this reply
	replyMode     replyMode   // CLIENT REPLY ON|OFF|SKIP
	multi         *multiState // non-nil between MULTI and EXEC/DISCARD
	watches       []dht.Watch
	soft          bool // CLIENT CONSISTENCY soft: writes are acknowledged by one replica (cluster)

	mu        sync.Mutex // guards name, libName, libVer for CLIENT LIST from other conns
	name      string
	libName   string
	libVer    string
	lastCmd   atomic.Pointer[protocol.Spec] // the last command run (CLIENT LIST's cmd=)
	lastUsed  atomic.Int64                  // Unix ns of the end of the last batch (idle time in CLIENT LIST)
	sampleSeq uint32                        // commands run, for latency sampling
	killed    atomic.Bool
}

type replyMode uint8

const (
	replyOn replyMode = iota
	replyOff
	replySkipNext
	replySkipThis
)

func newConn(n *Node, nc net.Conn) *conn {
	c := &conn{n: n, nc: nc, born: time.Now(), soft: n.cluster != nil && n.cluster.cfg.Consistency == "soft"}
	c.authenticated = n.requirePass() == ""
	c.rd = protocol.NewReader(nc, n.cfg.Limits)
	c.rd.SetAuthenticated(c.authenticated)
	c.rd.BeforeBlock = c.beforeBlock
	c.lastUsed.Store(time.Now().UnixNano())
	return c
}

// beforeBlock runs when the reader has no complete command left: the batch is done, so the replies go
// out in one write, and the idle timeout (if any) is armed for the next read.
func (c *conn) beforeBlock() error {
	c.lastUsed.Store(time.Now().UnixNano())
	if err := c.flush(); err != nil {
		return err
	}
	if c.n.stopping.Load() {
		return errStopping
	}
	if t := c.n.idleTimeout(); t > 0 {
		return c.nc.SetReadDeadline(time.Now().Add(t))
	}
	return nil
}

var errStopping = errors.New("server: stopping")

func (c *conn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	if t := c.n.cfg.ReplyStallTimeout; t > 0 {
		if err := c.nc.SetWriteDeadline(time.Now().Add(t)); err != nil {
			return err
		}
	}
	_, err := c.nc.Write(c.out)
	c.n.metrics.bytesOut.Add(float64(len(c.out)))
	if cap(c.out) > 4*c.n.cfg.ReplyFlushBytes {
		c.out = nil // a huge reply went out: do not keep its buffer for the life of the connection
	} else {
		c.out = c.out[:0]
	}
	return err
}

// serve is the connection's goroutine: read a command, dispatch it, repeat; flush per batch.
func (c *conn) serve() {
	n := c.n
	defer n.clients.remove(c)
	defer c.nc.Close()
	n.metrics.connected.Inc()
	defer n.metrics.connected.Dec()
	for {
		args, err := c.rd.ReadCommand()
		if err != nil {
			var perr *protocol.ProtocolError
			if errors.As(err, &perr) {
				n.metrics.protocolErrors.Inc()
				c.out = redcon.AppendError(c.out, perr.Error())
				_ = c.flush()
			}
			return
		}
		c.dispatch(args)
		if c.closeAfter || c.killed.Load() {
			_ = c.flush()
			return
		}
		if len(c.out) >= n.cfg.ReplyFlushBytes {
			if err := c.flush(); err != nil {
				return
			}
		}
	}
}

// setAuthenticated records a successful AUTH: the pre-authentication request limits no longer apply.
func (c *conn) setAuthenticated() {
	c.authenticated = true
	c.rd.SetAuthenticated(true)
}
