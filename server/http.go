package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vsdb/vsdb/query"
)

// startHTTP binds the HTTP listener and serves /healthz and /metrics. Every timeout and the header
// size are bounded (see the HTTP rows of spec/resp-bad-inputs.md).
func (n *Node) startHTTP() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(n.cfg.Bind, strconv.Itoa(n.cfg.HTTPPort)))
	if err != nil {
		return fmt.Errorf("server: listen HTTP: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", n.handleHealthz)
	mux.HandleFunc("GET /v1/cluster/digest", n.handleDigest)
	mux.Handle("GET /v1/cluster/config", n.protectHTTP(http.HandlerFunc(n.handleClusterConfig)))
	mux.Handle("POST /v1/query", n.protectHTTP(n.queries))
	mux.Handle("GET /v1/query/stream", n.protectHTTP(query.NewStreamHandler(n.queries, 0)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	}))
	if n.cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "not found")
	})
	n.httpLn = ln
	n.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: n.cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       n.cfg.HTTPReadTimeout,
		WriteTimeout:      n.cfg.HTTPWriteTimeout,
		IdleTimeout:       n.cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    n.cfg.HTTPMaxHeaderBytes,
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.setErr(fmt.Errorf("server: HTTP: %w", err))
		}
	}()
	return nil
}

// handleHealthz answers 200 with the node's state while it serves, 503 once it is stopping.
func (n *Node) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	if n.stopping.Load() {
		writeJSONError(w, http.StatusServiceUnavailable, "stopping")
		return
	}
	st := n.data.Stats()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": "ok", "version": Version, "keys": st.Keys, "used_memory_bytes": st.UsedMemoryBytes,
		"connected_clients": n.clients.count(),
	})
}

// handleDigest answers a clustered node's shard and the digest of its data at time now (Unix ms,
// parameter "now"; default the current time): replicas of one shard must agree at quiescence (vsdb
// chaos compares them). 404 on a single node.
func (n *Node) handleDigest(w http.ResponseWriter, r *http.Request) {
	if n.cluster == nil {
		writeJSONError(w, http.StatusNotFound, "not a clustered node")
		return
	}
	now := time.Now().UnixMilli()
	if s := r.URL.Query().Get("now"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "now: not an integer (Unix milliseconds)")
			return
		}
		now = v
	}
	d, shard := n.cluster.cur().c.Digest(now)
	l := n.cluster.cur().c.Layout()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"member": l.Self, "shard": shard, "digest": fmt.Sprintf("%016x", d),
		"view": l.ViewID, "stopped": n.cluster.cur().stopped.Load(), "keys": n.cluster.cur().c.Stats().Keys})
}

// JoinInfo is what GET /v1/cluster/config answers: what a new node needs to join this node's cluster
// (`vsdb server --join`). Peers are the peer addresses this node knows, by node id, itself included.
type JoinInfo struct {
	Self              int               `json:"self"`
	Peers             map[string]string `json:"peers"`
	Oracle            []int             `json:"oracle"`
	Group             string            `json:"group"`
	RF                int               `json:"rf"`
	ExpectedGroupSize int               `json:"expected_group_size"`
	MinGroupSize      int               `json:"min_group_size"`
}

// handleClusterConfig answers the cluster's join information (404 on a single node).
func (n *Node) handleClusterConfig(w http.ResponseWriter, _ *http.Request) {
	if n.cluster == nil {
		writeJSONError(w, http.StatusNotFound, "not a clustered node")
		return
	}
	cfg := n.cluster.cfg
	info := JoinInfo{Self: int(cfg.Self), Peers: map[string]string{}, Group: cfg.Group, RF: cfg.DHT.RF,
		ExpectedGroupSize: cfg.DHT.ExpectedGroupSize, MinGroupSize: cfg.DHT.MinGroupSize}
	for id, addr := range cfg.Peers {
		info.Peers[strconv.Itoa(int(id))] = addr
	}
	info.Peers[strconv.Itoa(int(cfg.Self))] = cfg.PeerAddr
	for _, id := range cfg.Oracle {
		info.Oracle = append(info.Oracle, int(id))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
}

// protectHTTP guards a data endpoint: a cross-site browser request is refused (403, Go's
// CrossOriginProtection), and with a password set (requirepass) a request must carry it as
// "Authorization: Bearer <password>" (401 otherwise; compared in constant time).
func (n *Node) protectHTTP(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSONError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pass := n.requirePass(); pass != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(pass)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vsdb"`)
				writeJSONError(w, http.StatusUnauthorized, "missing or invalid bearer token")
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
}

// writeJSONError answers {"error": msg} with status.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
