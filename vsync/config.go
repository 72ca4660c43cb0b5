package vsync

import (
	"errors"
	"fmt"
	"strings"
)

// Config configures one Member. Times are in ticks; the driver decides how long a tick is (the server
// driver uses 10 ms, so the defaults below read as: heartbeat every 50 ms, suspect after 1 s, a
// membership lease of 3 s, a default query timeout of 15 s).
type Config struct {
	// Group is the group name. Required.
	Group string
	// Self is this member's identity, "process#incarnation" (e.g. "n2#1"). A restarted process must use a
	// higher incarnation. Required.
	Self string
	// Oracle lists the addresses of the membership replicas. Required (1 to 5 entries).
	Oracle []string
	// Storage holds the SafeSend log of earlier incarnations of this process, read once by NewMember
	// for total-failure recovery. Nil means an empty log.
	Storage Storage

	// HeartbeatTicks is the interval between heartbeats to every peer (carrying stability frontiers).
	// Default 5.
	HeartbeatTicks int
	// SuspectTicks is how long a peer may stay silent before this member reports it to the membership
	// service. Default 100. Must exceed 2*HeartbeatTicks.
	SuspectTicks int
	// RetransmitTicks is the minimum interval between retransmissions to one peer. Default 10.
	RetransmitTicks int
	// OracleSyncTicks is the interval between lease/sync requests to the membership service. Default 20.
	OracleSyncTicks int
	// OracleLeaseTicks bounds how long a member answers from its own state without hearing from a
	// membership leader; after it the member is isolated until a leader answers, and stops after
	// OracleStopTicks (primary partition). Default 80 (800 ms at the server's 10 ms tick): the
	// membership service removes a suspected member only after its lease ran out, so this also bounds
	// failure detection from below. Must exceed 2*OracleSyncTicks.
	OracleLeaseTicks int
	// OracleStopTicks bounds how long a member whose lease ran out waits to hear from a membership
	// leader before it stops (primary partition; it then rejoins as a new incarnation). Between
	// OracleLeaseTicks and this bound the member is isolated (Member.Isolated, EventLease): it keeps
	// taking part in its view but answers nothing from its own state alone; a leader's answer that it
	// is still in the view ends the isolation, one that it was removed stops it (ErrFirewalled). So a
	// short leaderless spell of the service does not stop every member at once. Default
	// max(1000, 4*OracleLeaseTicks) (10 s at the server's 10 ms tick). Must exceed OracleLeaseTicks.
	OracleStopTicks int
	// SafeAcceptors is Φ, the number of acceptors (the first Φ ranks) that must log a SafeSend before
	// it is ordered. 0 means every member (the manual's default).
	SafeAcceptors int
	// MaxUnstable bounds this member's own multicasts sent but not yet stable. Default 4096.
	MaxUnstable int
	// AckEveryMsgs: a member sends a sender its receive frontiers at once (a heartbeat) when it received
	// this many more of that sender's multicasts since it last told it, so a busy sender reclaims its
	// MaxUnstable window without waiting for the next heartbeat. Default MaxUnstable/4 (at least 1).
	AckEveryMsgs int
	// MaxPending bounds multicasts queued while the group is wedged, and buffered future-view messages.
	// Default 4096.
	MaxPending int
	// MaxPayloadBytes bounds one payload. Default 1 MiB.
	MaxPayloadBytes int
	// ChunkWindow bounds checkpoint chunks in flight to joiners. Default 4.
	ChunkWindow int
	// MaxChunkBytes is the size asked of the checkpoint source per chunk. Default 64 KiB.
	MaxChunkBytes int
	// OrderBatchMax bounds the refs in one ordering record message. Default 1024.
	OrderBatchMax int
	// RetransmitBatch bounds messages resent to one peer per retransmission. Default 64.
	RetransmitBatch int
	// QueryTimeoutTicks is the default query timeout (action: treat missing replies as null replies).
	// Default 1500.
	QueryTimeoutTicks int
	// MaxQueries bounds outstanding queries of this member. Default 1024.
	MaxQueries int
	// MaxP2PUnacked bounds unacknowledged point-to-point messages per peer. Default 1024.
	MaxP2PUnacked int
	// InjectBug plants a deliberate protocol bug, only so tests can prove the simulator's checkers
	// catch it. Never set it outside tests. "flush-min-upto": the flush decision delivers each
	// sender's Sends only up to the smallest frontier a survivor reported, not the largest.
	InjectBug string
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.HeartbeatTicks, 5)
	def(&c.SuspectTicks, 100)
	def(&c.RetransmitTicks, 10)
	def(&c.OracleSyncTicks, 20)
	def(&c.OracleLeaseTicks, 80)
	def(&c.OracleStopTicks, max(1000, 4*c.OracleLeaseTicks))
	def(&c.MaxUnstable, 4096)
	def(&c.AckEveryMsgs, max(1, c.MaxUnstable/4))
	def(&c.MaxPending, 4096)
	def(&c.MaxPayloadBytes, 1<<20)
	def(&c.ChunkWindow, 4)
	def(&c.MaxChunkBytes, 64<<10)
	def(&c.OrderBatchMax, 1024)
	def(&c.RetransmitBatch, 64)
	def(&c.QueryTimeoutTicks, 1500)
	def(&c.MaxQueries, 1024)
	def(&c.MaxP2PUnacked, 1024)
	return c
}

// Validate reports every problem of c (after defaults are applied) at once, wrapped in ErrConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Group == "" {
		bad("Group is empty")
	}
	if c.Self == "" {
		bad("Self is empty")
	} else if !strings.Contains(c.Self, "#") {
		bad("Self %q is not process#incarnation", c.Self)
	}
	if len(c.Oracle) < 1 || len(c.Oracle) > 5 {
		bad("Oracle has %d replicas, want 1 to 5", len(c.Oracle))
	}
	pos := map[string]int{"HeartbeatTicks": c.HeartbeatTicks, "SuspectTicks": c.SuspectTicks,
		"RetransmitTicks": c.RetransmitTicks, "OracleSyncTicks": c.OracleSyncTicks,
		"OracleLeaseTicks": c.OracleLeaseTicks, "OracleStopTicks": c.OracleStopTicks, "MaxUnstable": c.MaxUnstable, "AckEveryMsgs": c.AckEveryMsgs, "MaxPending": c.MaxPending,
		"MaxPayloadBytes": c.MaxPayloadBytes, "ChunkWindow": c.ChunkWindow, "MaxChunkBytes": c.MaxChunkBytes,
		"OrderBatchMax": c.OrderBatchMax, "RetransmitBatch": c.RetransmitBatch,
		"QueryTimeoutTicks": c.QueryTimeoutTicks, "MaxQueries": c.MaxQueries, "MaxP2PUnacked": c.MaxP2PUnacked}
	for _, name := range []string{"HeartbeatTicks", "SuspectTicks", "RetransmitTicks", "OracleSyncTicks",
		"OracleLeaseTicks", "OracleStopTicks", "MaxUnstable", "AckEveryMsgs", "MaxPending", "MaxPayloadBytes", "ChunkWindow", "MaxChunkBytes",
		"OrderBatchMax", "RetransmitBatch", "QueryTimeoutTicks", "MaxQueries", "MaxP2PUnacked"} {
		if pos[name] <= 0 {
			bad("%s = %d, want > 0", name, pos[name])
		}
	}
	if c.SuspectTicks <= 2*c.HeartbeatTicks {
		bad("SuspectTicks = %d must exceed 2*HeartbeatTicks = %d", c.SuspectTicks, 2*c.HeartbeatTicks)
	}
	if c.OracleLeaseTicks <= 2*c.OracleSyncTicks {
		bad("OracleLeaseTicks = %d must exceed 2*OracleSyncTicks = %d", c.OracleLeaseTicks, 2*c.OracleSyncTicks)
	}
	if c.OracleStopTicks <= c.OracleLeaseTicks {
		bad("OracleStopTicks = %d must exceed OracleLeaseTicks = %d", c.OracleStopTicks, c.OracleLeaseTicks)
	}
	if c.SafeAcceptors < 0 {
		bad("SafeAcceptors = %d, want >= 0 (0 = all members)", c.SafeAcceptors)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}
