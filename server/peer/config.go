package peer

import (
	"errors"
	"fmt"
	"time"

	"github.com/vsdb/vsdb/protocol"
)

// NodeID identifies a node of the cluster. 0 is not a valid id.
type NodeID uint64

// Config configures a Transport. Zero numeric fields take the defaults documented on each field.
type Config struct {
	// Self is this node's id. Required (non-zero).
	Self NodeID
	// ListenAddr is the TCP address to listen on for peers, e.g. "10.0.0.1:7000" or "127.0.0.1:0" (a free
	// port; Transport.Addr says which). Required.
	ListenAddr string
	// Incarnation is sent in the handshake; a restarted process must use a larger value than before (for
	// example its start time in nanoseconds) so that peers drop connections to its previous life.
	Incarnation uint64
	// ClusterID is sent in the handshake; peers with a different ClusterID are refused.
	ClusterID uint64

	// MaxFrameBytes is the largest payload sent or accepted. Default 64 MiB; at most 1 GiB.
	MaxFrameBytes int
	// SendQueueFrames bounds each peer's send queue in frames (the backpressure bound). Default 4096.
	SendQueueFrames int
	// SendQueueBytes bounds each peer's send queue in payload bytes; a frame is always accepted into an
	// empty queue. Default 64 MiB.
	SendQueueBytes int
	// BatchBytes is how many bytes of queued frames one write coalesces. Default 256 KiB.
	BatchBytes int

	// DialTimeout bounds one TCP connect. Default 2 s.
	DialTimeout time.Duration
	// HandshakeTimeout bounds the handshake of one connection. Default 2 s.
	HandshakeTimeout time.Duration
	// ReconnectBackoffMin is the wait before redialing after a failed dial or a lost connection; it doubles
	// with every consecutive failure up to ReconnectBackoffMax, with ±25% jitter. Defaults 20 ms and 1 s.
	ReconnectBackoffMin, ReconnectBackoffMax time.Duration

	// MaxPeers bounds the number of peers, counting inbound-only ones. Default 1024.
	MaxPeers int
	// MaxPendingHandshakes bounds how many accepted connections may be in their handshake at once; more
	// are closed at once. Default 64.
	MaxPendingHandshakes int

	// Logf, if set, receives one line per connection event (dial failures, refusals, losses).
	Logf func(format string, args ...any)
}

// Default values.
const (
	DefaultMaxFrameBytes        = 64 << 20
	DefaultSendQueueFrames      = 4096
	DefaultSendQueueBytes       = 64 << 20
	DefaultBatchBytes           = 256 << 10
	DefaultDialTimeout          = 2 * time.Second
	DefaultHandshakeTimeout     = 2 * time.Second
	DefaultReconnectBackoffMin  = 20 * time.Millisecond
	DefaultReconnectBackoffMax  = time.Second
	DefaultMaxPeers             = 1024
	DefaultMaxPendingHandshakes = 64
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	defInt(&c.MaxFrameBytes, DefaultMaxFrameBytes)
	defInt(&c.SendQueueFrames, DefaultSendQueueFrames)
	defInt(&c.SendQueueBytes, DefaultSendQueueBytes)
	defInt(&c.BatchBytes, DefaultBatchBytes)
	defDur(&c.DialTimeout, DefaultDialTimeout)
	defDur(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	defDur(&c.ReconnectBackoffMin, DefaultReconnectBackoffMin)
	defDur(&c.ReconnectBackoffMax, DefaultReconnectBackoffMax)
	defInt(&c.MaxPeers, DefaultMaxPeers)
	defInt(&c.MaxPendingHandshakes, DefaultMaxPendingHandshakes)
	return c
}

// Validate reports every problem of c at once, wrapped in ErrConfig. Zero fields that have defaults
// are valid (they mean "default").
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Self == 0 {
		bad("Self is 0")
	}
	if c.ListenAddr == "" {
		bad("ListenAddr is empty")
	}
	if c.MaxFrameBytes < 0 || c.MaxFrameBytes > protocol.PeerFrameMaxPayloadBytes {
		bad("MaxFrameBytes = %d, want 1..%d", c.MaxFrameBytes, protocol.PeerFrameMaxPayloadBytes)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"SendQueueFrames", c.SendQueueFrames}, {"SendQueueBytes", c.SendQueueBytes},
		{"BatchBytes", c.BatchBytes}, {"MaxPeers", c.MaxPeers}, {"MaxPendingHandshakes", c.MaxPendingHandshakes}} {
		if f.v < 0 {
			bad("%s = %d, want > 0", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"DialTimeout", c.DialTimeout}, {"HandshakeTimeout", c.HandshakeTimeout},
		{"ReconnectBackoffMin", c.ReconnectBackoffMin}, {"ReconnectBackoffMax", c.ReconnectBackoffMax}} {
		if f.v < 0 {
			bad("%s = %v, want > 0", f.name, f.v)
		}
	}
	if c.ReconnectBackoffMin > 0 && c.ReconnectBackoffMax > 0 && c.ReconnectBackoffMin > c.ReconnectBackoffMax {
		bad("ReconnectBackoffMin = %v exceeds ReconnectBackoffMax = %v", c.ReconnectBackoffMin, c.ReconnectBackoffMax)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}
