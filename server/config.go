package server

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/shard"
)

// Config is everything a node needs to start. The zero value is not usable: start from DefaultConfig.
// Every field is also a `vsdb server` flag, a VSDB_* environment variable and a config-file key (see
// docs/configuration.md); cmd/vsdb maps them, this package never reads the environment.
type Config struct {
	// Bind is the address the RESP and HTTP listeners bind to. Default "127.0.0.1".
	Bind string
	// Port is the RESP TCP port. Default 6379; 0 picks a free port; -1 disables the RESP listener
	// (an embedded node that is used only through the Go API).
	Port int
	// HTTPPort is the HTTP port (/healthz, /metrics). Default 8080; 0 picks a free port; -1 disables it.
	HTTPPort int

	// RequirePass, when non-empty, is the password of the default user: clients must AUTH first.
	RequirePass string
	// ProtectedMode, as Redis's protected-mode: with no password set, only loopback clients are served.
	// Default true.
	ProtectedMode bool

	// MaxClients is the most client connections served at once (Redis maxclients). Default 10000.
	MaxClients int
	// IdleTimeout closes a client idle this long (Redis timeout). Default 0: never.
	IdleTimeout time.Duration
	// ReplyFlushBytes is how many reply bytes a connection holds before writing them out in the middle of
	// a pipelined batch. It bounds the memory a client that pipelines without reading can make the server
	// hold: past it the server blocks writing to that client (TCP backpressure) and stops reading from it.
	// Default 64 KiB.
	ReplyFlushBytes int
	// ReplyStallTimeout closes a client whose socket accepts no reply bytes for this long. Default 0:
	// never (Redis's normal client class has no output limit either).
	ReplyStallTimeout time.Duration

	// Limits are the RESP request limits (proto-max-bulk-len, inline size, pre-authentication limits).
	Limits protocol.Limits

	// Store configures the local store: maxmemory, eviction policy.
	Store shard.Config

	// ExpireHz is how many active-expire cycles run per second (Redis hz). Default 10.
	ExpireHz int
	// ExpireKeysPerCycle bounds the keys one active-expire cycle may delete. Default 200.
	ExpireKeysPerCycle int

	// ShutdownTimeout bounds how long Close waits for connections to finish their current batch.
	// Default 5 s.
	ShutdownTimeout time.Duration

	// HTTP server limits.
	HTTPReadHeaderTimeout time.Duration // default 5 s
	HTTPReadTimeout       time.Duration // default 30 s
	HTTPWriteTimeout      time.Duration // default 30 s
	HTTPIdleTimeout       time.Duration // default 120 s
	HTTPMaxHeaderBytes    int           // default 64 KiB

	// Pprof serves Go's profiler under /debug/pprof/ on the HTTP listener. Default false: it exposes
	// internals, so enable it only on a trusted interface (benchmarks, debugging).
	Pprof bool

	// Logf, if set, receives one line per notable event of the cluster layer (drops, stops, refused
	// joiners). Default: none.
	Logf func(format string, args ...any)

	// Cluster, when set, makes the node a member of a clustered DHT (see ClusterConfig); nil runs a
	// single in-memory node.
	Cluster *ClusterConfig

	// NowMs, when set, replaces the wall clock (Unix milliseconds) for the ordered-operation timestamps.
	// Tests inject it; leave nil in production.
	NowMs func() int64
}

// DefaultConfig returns the configuration of `vsdb server` with no flags: a single in-memory node with
// RESP on 127.0.0.1:6379 and HTTP on 127.0.0.1:8080.
func DefaultConfig() Config {
	return Config{
		Bind:                  "127.0.0.1",
		Port:                  6379,
		HTTPPort:              8080,
		ProtectedMode:         true,
		MaxClients:            10000,
		ReplyFlushBytes:       64 << 10,
		Limits:                protocol.DefaultLimits(),
		Store:                 shard.Config{EvictionPolicy: "noeviction", EvictionSamples: 5},
		ExpireHz:              10,
		ExpireKeysPerCycle:    200,
		ShutdownTimeout:       5 * time.Second,
		HTTPReadHeaderTimeout: 5 * time.Second,
		HTTPReadTimeout:       30 * time.Second,
		HTTPWriteTimeout:      30 * time.Second,
		HTTPIdleTimeout:       120 * time.Second,
		HTTPMaxHeaderBytes:    64 << 10,
	}
}

// Bounds of ClusterConfig fields.
const (
	maxQueryFanout          = 64
	maxWriteBatchMaxCmds    = 65536
	maxWriteBatchesInFlight = 256
)

// ErrConfig is wrapped by every configuration problem Validate reports.
var ErrConfig = errors.New("server: invalid configuration")

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if net.ParseIP(c.Bind) == nil && c.Bind != "localhost" {
		bad("bind %q is not an IP address", c.Bind)
	}
	if c.Port < -1 || c.Port > 65535 {
		bad("port %d is outside -1..65535", c.Port)
	}
	if c.HTTPPort < -1 || c.HTTPPort > 65535 {
		bad("http-port %d is outside -1..65535", c.HTTPPort)
	}
	if c.Port > 0 && c.Port == c.HTTPPort {
		bad("port and http-port are both %d", c.Port)
	}
	if c.MaxClients < 1 {
		bad("maxclients %d must be at least 1", c.MaxClients)
	}
	if c.IdleTimeout < 0 {
		bad("timeout %s must not be negative", c.IdleTimeout)
	}
	if c.ReplyFlushBytes < 512 {
		bad("reply-flush-bytes %d must be at least 512", c.ReplyFlushBytes)
	}
	if c.ReplyStallTimeout < 0 {
		bad("reply-stall-timeout %s must not be negative", c.ReplyStallTimeout)
	}
	if c.ExpireHz < 1 || c.ExpireHz > 500 {
		bad("hz %d is outside 1..500", c.ExpireHz)
	}
	if c.ExpireKeysPerCycle < 1 {
		bad("expire-keys-per-cycle %d must be at least 1", c.ExpireKeysPerCycle)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout %s must be positive", c.ShutdownTimeout)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"http-read-header-timeout", c.HTTPReadHeaderTimeout}, {"http-read-timeout", c.HTTPReadTimeout},
		{"http-write-timeout", c.HTTPWriteTimeout}, {"http-idle-timeout", c.HTTPIdleTimeout},
	} {
		if t.d <= 0 {
			bad("%s %s must be positive", t.name, t.d)
		}
	}
	if c.HTTPMaxHeaderBytes < 1024 {
		bad("http-max-header-bytes %d must be at least 1024", c.HTTPMaxHeaderBytes)
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if cc := c.Cluster; cc != nil {
		if cc.QueryFanout < 0 || cc.QueryFanout > maxQueryFanout {
			bad("cluster query-fanout %d must be 1 to %d (0 = default)", cc.QueryFanout, maxQueryFanout)
		}
		if cc.ValuesMinBytes < 0 {
			bad("cluster ValuesMinBytes %d must be >= 0", cc.ValuesMinBytes)
		}
		if cc.WriteBatchMaxCmds < 0 || cc.WriteBatchMaxCmds > maxWriteBatchMaxCmds {
			bad("cluster write-batch-max-cmds %d must be 1 to %d (0 = default)", cc.WriteBatchMaxCmds, maxWriteBatchMaxCmds)
		}
		if cc.WriteBatchesInFlight < 0 || cc.WriteBatchesInFlight > maxWriteBatchesInFlight {
			bad("cluster write-batches-in-flight %d must be 1 to %d (0 = default)", cc.WriteBatchesInFlight, maxWriteBatchesInFlight)
		}
		if cc.WriteAck != "" && cc.WriteAck != "delivery" && cc.WriteAck != "all" {
			bad("cluster write-ack %q must be delivery or all", cc.WriteAck)
		}
		if cc.Redirect != "" && cc.Redirect != "none" && cc.Redirect != "moved" {
			bad("cluster redirect %q must be none or moved", cc.Redirect)
		}
	}
	return errors.Join(errs...)
}
