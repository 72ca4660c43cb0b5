package server

import (
	"errors"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/tidwall/redcon"
)

// Protected-mode refusal, as Redis 7 words it (with the product's name).
const protectedModeMsg = "DENIED vsdb is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to vsdb you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to vsdb from the same host the server is running, however MAKE SURE vsdb is not publicly accessible from internet if you do so. 2) Alternatively you can just disable the protected mode by setting the protected-mode option to 'no' (flag --protected-mode=false, VSDB_PROTECTED_MODE=false), and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode=false' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."

// clientRegistry tracks the live client connections, for maxclients, CLIENT LIST/KILL and shutdown.
type clientRegistry struct {
	mu     sync.Mutex
	nextID int64
	conns  map[int64]*conn
	closed bool
	wg     sync.WaitGroup // one per connection goroutine
}

func (r *clientRegistry) init() { r.conns = make(map[int64]*conn) }

// add registers c unless the registry is closed or full; it gives c its id.
func (r *clientRegistry) add(c *conn, maxClients int) (ok, full bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false, false
	}
	if len(r.conns) >= maxClients {
		return false, true
	}
	r.nextID++
	c.id = r.nextID
	r.conns[c.id] = c
	r.wg.Add(1)
	return true, false
}

func (r *clientRegistry) remove(c *conn) {
	r.mu.Lock()
	delete(r.conns, c.id)
	r.mu.Unlock()
	r.wg.Done()
}

func (r *clientRegistry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// snapshot returns the live connections ordered by id.
func (r *clientRegistry) snapshot() []*conn {
	r.mu.Lock()
	out := make([]*conn, 0, len(r.conns))
	for _, c := range r.conns {
		out = append(out, c)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// closeAll refuses new connections, asks every connection to stop after its current batch (by
// expiring its read deadline), waits up to timeout, then closes the sockets of the stragglers.
func (r *clientRegistry) closeAll(timeout time.Duration) {
	r.mu.Lock()
	r.closed = true
	for _, c := range r.conns {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		r.mu.Lock()
		for _, c := range r.conns {
			_ = c.nc.Close()
		}
		r.mu.Unlock()
		<-done
	}
}

// acceptLoop accepts RESP clients until the listener closes. It enforces maxclients and protected mode
// before a connection gets a goroutine of its own.
func (n *Node) acceptLoop(ln net.Listener) {
	defer n.wg.Done()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if n.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary errors (EMFILE…): back off, as net/http does, rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
				continue
			case <-n.ctx.Done():
				return
			}
		}
		backoff = 0
		if n.refuseProtected(nc) {
			continue
		}
		c := newConn(n, nc)
		ok, full := n.clients.add(c, n.maxClientsNow())
		if !ok {
			if full {
				n.metrics.rejectedConns.Inc()
				_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = nc.Write(redcon.AppendError(nil, "ERR max number of clients reached"))
			}
			_ = nc.Close()
			continue
		}
		n.metrics.connsTotal.Inc()
		go c.serve()
	}
}

// refuseProtected answers and closes a non-loopback client when protected mode applies (Redis 7: the
// default user has no password and protected-mode is on).
func (n *Node) refuseProtected(nc net.Conn) bool {
	if !n.protectedMode() || n.requirePass() != "" {
		return false
	}
	if addr, ok := nc.RemoteAddr().(*net.TCPAddr); ok && addr.IP.IsLoopback() {
		return false
	}
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(redcon.AppendError(nil, protectedModeMsg))
	_ = nc.Close()
	return true
}
