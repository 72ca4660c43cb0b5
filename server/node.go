package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/shard"
)

// dataPlane is what the command layer needs from the DHT: the single-node dht.Local today, the clustered
// DHT later, with no change to the command layer.
type dataPlane interface {
	Do(ctx context.Context, dst []byte, args [][]byte) ([]byte, error)
	DoAtomic(ctx context.Context, dst []byte, cmds [][][]byte, watches []dht.Watch) ([]byte, error)
	Watch(ctx context.Context, key []byte) (dht.Watch, error)
	Handles(name []byte) bool
	Tick(ctx context.Context) error
	Stats() shard.Stats
	Close() error
}

// Node is a running vsdb node: the standalone server is one, and a Go program embeds one through Open.
// Its methods are safe for concurrent use.
type Node struct {
	cfg      Config
	dht      *dht.Local    // the single-node data plane (nil in a cluster)
	cluster  *clusterPlane // the clustered data plane (nil on a single node)
	queries  *query.Handler
	data     dataPlane
	metrics  *metrics
	dispatch dispatchTable
	started  time.Time

	// Settings that CONFIG SET can change while the node runs.
	protected     atomic.Bool
	idleTimeoutNs atomic.Int64
	maxClients    atomic.Int64
	password      atomic.Pointer[string]
	storeMu       sync.Mutex
	storeCfg      shard.Config // the store's maxmemory settings as CONFIG SET left them

	respLn   net.Listener
	httpSrv  *http.Server
	httpLn   net.Listener
	clients  clientRegistry
	stopping atomic.Bool

	ctx    context.Context // cancelled by Close: every goroutine of the node watches it
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the node starts
	closed sync.Once
	errMu  sync.Mutex
	err    error
}

// ErrClosed is returned by the Go API of a node after Close.
var ErrClosed = errors.New("server: node is closed")

// Open starts a node with cfg: the local store, the RESP listener (unless Port is -1), the HTTP
// listener (unless HTTPPort is -1) and the active-expire driver. It returns once the listeners are
// bound. ctx bounds only the start; the node runs until Close.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, started: time.Now()}
	if cfg.Cluster != nil {
		cc := cfg.Cluster.withDefaults()
		now := cfg.NowMs
		if now == nil {
			now = func() int64 { return time.Now().UnixMilli() }
		}
		cp, err := newClusterPlane(cc, now, cfg.Logf)
		if err != nil {
			return nil, fmt.Errorf("server: join the cluster: %w", err)
		}
		n.cluster, n.data = cp, cp
	} else {
		local, err := dht.NewLocal(dht.Config{Store: cfg.Store, NowMs: cfg.NowMs})
		if err != nil {
			return nil, fmt.Errorf("server: open store: %w", err)
		}
		n.dht, n.data = local, local
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.clients.init()
	n.metrics = newMetrics(n)
	n.dispatch = buildDispatch(n.data)
	n.queries = query.NewHandler(query.Config{DefaultTimeout: queryTimeoutDefault}, n)
	n.protected.Store(cfg.ProtectedMode)
	n.idleTimeoutNs.Store(int64(cfg.IdleTimeout))
	n.maxClients.Store(int64(cfg.MaxClients))
	n.password.Store(&cfg.RequirePass)
	n.storeCfg = cfg.Store

	if cfg.Port >= 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)))
		if err != nil {
			_ = n.Close()
			return nil, fmt.Errorf("server: listen RESP: %w", err)
		}
		n.respLn = ln
		n.wg.Add(1)
		go n.acceptLoop(ln)
	}
	if n.cluster != nil {
		addr := n.cluster.cfg.AnnounceAddr
		if addr == "" && n.respLn != nil {
			addr = n.respLn.Addr().String()
		}
		n.cluster.announce(addr)
	}
	if cfg.HTTPPort >= 0 {
		if err := n.startHTTP(); err != nil {
			_ = n.Close()
			return nil, err
		}
	}
	n.wg.Add(1)
	go n.expireLoop()
	return n, nil
}

func (n *Node) protectedMode() bool        { return n.protected.Load() }
func (n *Node) idleTimeout() time.Duration { return time.Duration(n.idleTimeoutNs.Load()) }
func (n *Node) requirePass() string        { return *n.password.Load() }
func (n *Node) maxClientsNow() int         { return int(n.maxClients.Load()) }

func (n *Node) storeConfig() shard.Config {
	n.storeMu.Lock()
	defer n.storeMu.Unlock()
	return n.storeCfg
}

// setMaxMemory changes maxmemory and the eviction policy while the node runs (CONFIG SET).
func (n *Node) setMaxMemory(bytes int64, p shard.Policy) error {
	n.storeMu.Lock()
	defer n.storeMu.Unlock()
	if n.dht == nil {
		return errors.New("ERR maxmemory cannot be changed on a clustered node yet")
	}
	if err := n.dht.SetMaxMemory(bytes, p); err != nil {
		return err
	}
	n.storeCfg.MaxMemoryBytes, n.storeCfg.EvictionPolicy = bytes, p
	return nil
}

// Addr is the RESP listener's address (nil when it is disabled).
func (n *Node) Addr() net.Addr {
	if n.respLn == nil {
		return nil
	}
	return n.respLn.Addr()
}

// HTTPAddr is the HTTP listener's address (nil when it is disabled).
func (n *Node) HTTPAddr() net.Addr {
	if n.httpLn == nil {
		return nil
	}
	return n.httpLn.Addr()
}

// expireLoop runs the active-expire cycle ExpireHz times a second until the node closes.
func (n *Node) expireLoop() {
	defer n.wg.Done()
	t := time.NewTicker(time.Second / time.Duration(n.cfg.ExpireHz))
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			_ = n.data.Tick(n.ctx)
		}
	}
}

// Close stops the node: it stops accepting, closes every client connection after its current batch,
// stops the HTTP server and every driver goroutine, and closes the store. It waits for all of them (at
// most ShutdownTimeout for connections to finish). Close is idempotent.
func (n *Node) Close() error {
	n.closed.Do(func() {
		n.stopping.Store(true)
		if n.respLn != nil {
			_ = n.respLn.Close()
		}
		if n.httpSrv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
			if err := n.httpSrv.Shutdown(sctx); err != nil {
				_ = n.httpSrv.Close()
			}
			cancel()
		}
		n.clients.closeAll(n.cfg.ShutdownTimeout)
		n.cancel()
		n.wg.Wait()
		n.setErr(n.data.Close())
	})
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.err
}

func (n *Node) setErr(err error) {
	if err == nil {
		return
	}
	n.errMu.Lock()
	n.err = errors.Join(n.err, err)
	n.errMu.Unlock()
}

func (n *Node) checkOpen() error {
	if n.stopping.Load() {
		return ErrClosed
	}
	return nil
}

// Get returns the string value of key (ok false when it does not exist).
func (n *Node) Get(ctx context.Context, key []byte) (val []byte, ok bool, err error) {
	if err := n.checkOpen(); err != nil {
		return nil, false, err
	}
	return dht.Typed{D: n.data}.Get(ctx, key)
}

// Put sets key to val, with a time to live when ttl > 0.
func (n *Node) Put(ctx context.Context, key, val []byte, ttl time.Duration) error {
	if err := n.checkOpen(); err != nil {
		return err
	}
	return dht.Typed{D: n.data}.Put(ctx, key, val, ttl)
}

// Remove deletes key and says whether it existed.
func (n *Node) Remove(ctx context.Context, key []byte) (bool, error) {
	if err := n.checkOpen(); err != nil {
		return false, err
	}
	return dht.Typed{D: n.data}.Remove(ctx, key)
}

// Incr adds delta to the integer at key (missing keys count as 0) and returns the new value.
func (n *Node) Incr(ctx context.Context, key []byte, delta int64) (int64, error) {
	if err := n.checkOpen(); err != nil {
		return 0, err
	}
	return dht.Typed{D: n.data}.Incr(ctx, key, delta)
}

// HSet sets field/value pairs of the hash at key and returns how many fields were added.
func (n *Node) HSet(ctx context.Context, key []byte, fieldVals ...[]byte) (int64, error) {
	if err := n.checkOpen(); err != nil {
		return 0, err
	}
	return dht.Typed{D: n.data}.HSet(ctx, key, fieldVals...)
}

// HGet returns one field of the hash at key.
func (n *Node) HGet(ctx context.Context, key, field []byte) ([]byte, bool, error) {
	if err := n.checkOpen(); err != nil {
		return nil, false, err
	}
	return dht.Typed{D: n.data}.HGet(ctx, key, field)
}

// ClusterLayout returns the clustered node's current layout (view, placement, shards, readiness,
// addresses); ok is false on a single node.
func (n *Node) ClusterLayout() (l dht.Layout, ok bool) {
	if n.cluster == nil {
		return dht.Layout{}, false
	}
	return n.cluster.cur().c.Layout(), true
}

// Do runs any data command (the same path as RESP) and returns its raw RESP2 reply.
func (n *Node) Do(ctx context.Context, args ...[]byte) ([]byte, error) {
	if err := n.checkOpen(); err != nil {
		return nil, err
	}
	return n.data.Do(ctx, nil, args)
}

// Stats returns the store's counters (keys, memory, hits, misses, expirations, evictions).
func (n *Node) Stats() shard.Stats { return n.data.Stats() }
