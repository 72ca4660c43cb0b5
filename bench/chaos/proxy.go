package chaos

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

/*
Network faults. Every peer link goes through a TCP proxy, one per ordered pair of nodes: node i reaches
node j at proxy (i→j), which forwards to j's peer listener. A partition blocks every proxy whose two
ends are on different sides, in both directions (the transport may carry both directions of a pair over
either connection): it closes their connections and refuses new ones until healed. A delay makes every
proxy hold each chunk it forwards for the given time.
*/
type proxy struct {
	ln      net.Listener
	target  string
	blocked atomic.Bool
	delayNs atomic.Int64
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newProxy(listen, target string) (*proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("chaos: proxy %s: %w", listen, err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.blocked.Load() {
			in.Close()
			continue
		}
		out, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			in.Close()
			continue
		}
		p.track(in, out)
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

// pipe copies src to dst, holding each chunk for the current delay, until either side closes.
func (p *proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := p.delayNs.Load(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			if p.blocked.Load() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// block closes the proxy's connections and refuses new ones until unblock.
func (p *proxy) block() {
	p.blocked.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) unblock() { p.blocked.Store(false) }

func (p *proxy) close() {
	p.ln.Close()
	p.block()
	p.wg.Wait()
}

// network is the proxies of an n-node cluster: links[i][j] carries i's traffic to j.
type network struct {
	n     int
	links map[[2]int]*proxy
}

// proxyPort is the port of proxy (i→j) for base port b: b+300 + i*10 + j (nodes 1..9).
func proxyPort(b, i, j int) int { return b + 300 + i*10 + j }

func newNetwork(o Options) (*network, error) {
	nw := &network{n: o.Nodes, links: map[[2]int]*proxy{}}
	for i := 1; i <= o.Nodes; i++ {
		for j := 1; j <= o.Nodes; j++ {
			if i == j {
				continue
			}
			_, _, pp := NodePorts(o.BasePort, j)
			p, err := newProxy(fmt.Sprintf("127.0.0.1:%d", proxyPort(o.BasePort, i, j)), fmt.Sprintf("127.0.0.1:%d", pp))
			if err != nil {
				nw.close()
				return nil, err
			}
			nw.links[[2]int{i, j}] = p
		}
	}
	return nw, nil
}

// peersOf is node i's cluster-peers setting: itself at its listener, every other node through (i→j).
func (nw *network) peersOf(o Options, i int) string {
	s := ""
	for j := 1; j <= o.Nodes; j++ {
		addr := ""
		if j == i {
			_, _, pp := NodePorts(o.BasePort, i)
			addr = fmt.Sprintf("127.0.0.1:%d", pp)
		} else {
			addr = fmt.Sprintf("127.0.0.1:%d", proxyPort(o.BasePort, i, j))
		}
		if s != "" {
			s += ","
		}
		s += fmt.Sprintf("%d=%s", j, addr)
	}
	return s
}

// partition blocks every link between side and the other nodes.
func (nw *network) partition(side map[int]bool) {
	for k, p := range nw.links {
		if side[k[0]] != side[k[1]] {
			p.block()
		}
	}
}

func (nw *network) heal() {
	for _, p := range nw.links {
		p.unblock()
	}
}

func (nw *network) setDelay(d time.Duration) {
	for _, p := range nw.links {
		p.delayNs.Store(int64(d))
	}
}

func (nw *network) close() {
	for _, p := range nw.links {
		p.close()
	}
}
