package group

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/membership"
)

// Config configures a Node. Zero numeric fields take the defaults documented on each field.
type Config struct {
	// Self is this node's id (1, 2, …). Required.
	Self peer.NodeID
	// ListenAddr is the TCP address of this node's peer transport. Required.
	ListenAddr string
	// Peers maps every other node's id to its address (an entry for Self is ignored).
	Peers map[peer.NodeID]string
	// Oracle lists the nodes that run a membership replica (1 to 5); raft id i+1 is Oracle[i]. Every
	// node of the cluster must be given the same list. Required.
	Oracle []peer.NodeID
	// Incarnation distinguishes this process from earlier ones with the same Self: a restarted process
	// must use a larger value (for example its start time in milliseconds). Members are named
	// "n<Self>#<Incarnation>". Required (non-zero).
	Incarnation uint64
	// ClusterID is checked in the transport handshake.
	ClusterID uint64

	// Tick is the length of one vsync and membership tick. Default 10 ms (so vsync's defaults read:
	// heartbeat every 50 ms, suspect a silent peer after 1 s).
	Tick time.Duration
	// RelayDelay is how long a sequencer's driver, idle, holds back the relay of what every member holds
	// (vsync.Member.FlushDeferred) for it to ride on the next MsgOrder instead of messages of its own:
	// the members other than the sequencer deliver (and serve reads waiting on a write) up to this much
	// later when writes stop, and under steady writes the relay costs no messages. Default 500 µs; a negative value relays as soon as the driver is idle.
	RelayDelay time.Duration
	// InboxBatches bounds each driver's inbound queue, in received envelopes; when it is full, received
	// messages are dropped and counted (vsync retransmits). Default 8192.
	InboxBatches int
	// ProposalQueue bounds each group's queue of application proposals; callers block (or their ctx
	// ends) while it is full. Default 1024.
	ProposalQueue int
	// ElectionTicks is the membership replicas' election timeout in ticks. Default 30 (300 ms): raft
	// heartbeats share each peer connection with bulk group traffic, and a leader that hears from no
	// quorum for 2*ElectionTicks stops renewing member leases, so a shorter timeout turns a loaded link
	// into spurious partitions. A new leader is still elected well within the 1 s failure suspicion.
	// The leader's raft heartbeat interval is ElectionTicks/10 (at least 1 tick).
	ElectionTicks int
	// Member, if set, adjusts each member's vsync.Config (e.g. SafeAcceptors) before it is created;
	// Group, Self, Oracle and Storage are set by the driver.
	Member func(*vsync.Config)
	// Log is the SafeSend log shared by the node's groups. Default a fresh MemLog.
	Log LogStore
	// RaftStorage is the raft log and state of this node's membership replica (oracle nodes only).
	// Default a fresh raft.MemoryStorage. Raft assumes a replica never forgets what it persisted: give
	// a node that replaces an earlier one of the same process (a rejoin) the storage the earlier one
	// used, and a durable one (wal.RaftLog) to survive a process restart. At most one node may use a
	// storage at a time.
	RaftStorage membership.RaftStorage
	// Transport adjusts the peer transport's configuration (Self, ListenAddr, Incarnation and ClusterID
	// are set by the driver).
	Transport func(*peer.Config)
	// Logf, if set, receives one line per notable driver event (drops, send failures, stops).
	Logf func(format string, args ...any)
}

// Defaults.
const (
	DefaultTick          = 10 * time.Millisecond
	DefaultRelayDelay    = 500 * time.Microsecond
	DefaultInboxBatches  = 8192
	DefaultProposalQueue = 1024
	DefaultElectionTicks = 30
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.RelayDelay == 0 {
		c.RelayDelay = DefaultRelayDelay
	}
	if c.InboxBatches == 0 {
		c.InboxBatches = DefaultInboxBatches
	}
	if c.ProposalQueue == 0 {
		c.ProposalQueue = DefaultProposalQueue
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = DefaultElectionTicks
	}
	if c.Log == nil {
		c.Log = NewMemLog()
	}
	return c
}

// Validate reports every problem of c (defaults applied) at once, wrapped in ErrConfig.
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
	if c.Incarnation == 0 {
		bad("Incarnation is 0")
	}
	if len(c.Oracle) < 1 || len(c.Oracle) > 5 {
		bad("Oracle has %d nodes, want 1 to 5", len(c.Oracle))
	}
	for i, id := range c.Oracle {
		if id == 0 {
			bad("Oracle[%d] is node 0", i)
		} else if id != c.Self && c.Peers[id] == "" {
			bad("Oracle node %d has no address in Peers", id)
		}
		if slices.Index(c.Oracle, id) != i {
			bad("Oracle lists node %d twice", id)
		}
	}
	if c.Tick < 0 || c.InboxBatches < 0 || c.ProposalQueue < 0 || c.ElectionTicks < 3 {
		bad("Tick %v, InboxBatches %d, ProposalQueue %d must be > 0 and ElectionTicks %d >= 3",
			c.Tick, c.InboxBatches, c.ProposalQueue, c.ElectionTicks)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}

// MemberID returns the vsync member id of node self's incarnation inc: "n<self>#<inc>".
func MemberID(self peer.NodeID, inc uint64) string { return fmt.Sprintf("n%d#%d", self, inc) }

// ReplicaAddr returns the membership address of the replica on node id: "o<id>".
func ReplicaAddr(id peer.NodeID) string { return fmt.Sprintf("o%d", id) }

// nodeOfMember returns the node of member id "n<node>#<inc>".
func nodeOfMember(id string) (peer.NodeID, error) {
	p, _, _ := strings.Cut(id, "#")
	return parseNode(p, "n", id)
}

// nodeOfReplica returns the node of replica address "o<node>".
func nodeOfReplica(addr string) (peer.NodeID, error) { return parseNode(addr, "o", addr) }

func parseNode(s, prefix, whole string) (peer.NodeID, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, prefix), 10, 64)
	if !strings.HasPrefix(s, prefix) || err != nil || n == 0 {
		return 0, fmt.Errorf("%w: %q", ErrAddress, whole)
	}
	return peer.NodeID(n), nil
}

// ParsePeers parses "1=host:port,2=host:port" into a map.
func ParsePeers(s string) (map[peer.NodeID]string, error) {
	out := map[peer.NodeID]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		n, err := strconv.ParseUint(k, 10, 64)
		if !ok || err != nil || n == 0 || v == "" {
			return nil, fmt.Errorf("%w: peer %q is not id=host:port", ErrConfig, part)
		}
		out[peer.NodeID(n)] = v
	}
	return out, nil
}

// ParseNodeList parses "1,2,3".
func ParseNodeList(s string) ([]peer.NodeID, error) {
	var out []peer.NodeID
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.ParseUint(part, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%w: node id %q", ErrConfig, part)
		}
		out = append(out, peer.NodeID(n))
	}
	return out, nil
}
