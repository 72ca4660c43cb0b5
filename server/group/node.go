package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/membership"
)

/*
Node is one process of a vsync cluster: one peer transport, one membership replica when the process is
listed in Config.Oracle, and one driver per joined group.

Goroutines and their owners (Close stops and waits for all of them):
  - one driver goroutine per group (driver.run): owned by the Node; ends when Close closes n.stop, or
    after its member stopped (EventStopped) — it then removes itself from n.groups;
  - one replica goroutine (replicaDriver.run) on oracle nodes: owned by the Node, ends on Close;
  - the transport's goroutines: owned by the transport, which Close closes after the drivers ended.

Data flow: the transport's reader goroutines call deliver, which decodes the envelope and its messages
and hands them to the target driver's inbox without blocking (a full inbox drops them and counts;
vsync retransmits). Messages between a member and the replica of the same node skip the transport.
Proposals travel to a driver through its bounded proposal queue; the caller waits for the result.
*/
type Node struct {
	cfg    Config
	tr     *peer.Transport
	rep    *replicaDriver // nil unless this node runs a membership replica
	oracle []string       // replica addresses, raft id i+1 = oracle[i]
	stop   chan struct{}  // closed by Close
	wg     sync.WaitGroup // the drivers' goroutines

	mu     sync.RWMutex // guards groups and closed
	groups map[string]*driver
	closed bool

	decMu    sync.Mutex // guards decoders
	decoders map[peer.NodeID]*vsync.Decoder

	inboxDropped  atomic.Uint64
	sendDropped   atomic.Uint64
	decodeErrors  atomic.Uint64
	unroutable    atomic.Uint64
	storageErrors atomic.Uint64
	closeOnce     sync.Once
}

// Stats are a node's counters since New.
type Stats struct {
	InboxDropped  uint64     // received messages dropped because a driver's inbox was full
	SendDropped   uint64     // envelopes not queued because the transport refused them (queue full, closed)
	DecodeErrors  uint64     // received payloads that were not a valid envelope or message
	Unroutable    uint64     // messages for a group or replica this node does not run, or a bad address
	StorageErrors uint64     // SafeSend log writes that failed (the entries were not acknowledged)
	Transport     peer.Stats // the peer transport's counters
}

// New starts a node: its transport (listening at once) and, on an oracle node, its replica.
func New(cfg Config) (*Node, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, stop: make(chan struct{}), groups: map[string]*driver{}, decoders: map[peer.NodeID]*vsync.Decoder{}}
	for _, id := range cfg.Oracle {
		n.oracle = append(n.oracle, ReplicaAddr(id))
	}
	pc := peer.Config{}
	if cfg.Transport != nil {
		cfg.Transport(&pc)
	}
	pc.Self, pc.ListenAddr, pc.Incarnation, pc.ClusterID = cfg.Self, cfg.ListenAddr, cfg.Incarnation, cfg.ClusterID
	if pc.Logf == nil {
		pc.Logf = cfg.Logf
	}
	tr, err := peer.New(pc, n.deliver)
	if err != nil {
		return nil, fmt.Errorf("group: transport: %w", err)
	}
	n.tr = tr
	for id, addr := range cfg.Peers {
		if id != cfg.Self {
			tr.SetPeer(id, addr)
		}
	}
	for i, id := range cfg.Oracle {
		if id != cfg.Self {
			continue
		}
		rd, err := newReplicaDriver(n, uint64(i+1))
		if err != nil {
			_ = tr.Close()
			return nil, err
		}
		n.rep = rd
		n.wg.Add(1)
		go rd.run()
	}
	return n, nil
}

// Addr returns the transport's listening address.
func (n *Node) Addr() string { return n.tr.Addr().String() }

// MemberID returns the id this node's members have: "n<Self>#<Incarnation>".
func (n *Node) MemberID() string { return MemberID(n.cfg.Self, n.cfg.Incarnation) }

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{InboxDropped: n.inboxDropped.Load(), SendDropped: n.sendDropped.Load(),
		DecodeErrors: n.decodeErrors.Load(), Unroutable: n.unroutable.Load(),
		StorageErrors: n.storageErrors.Load(), Transport: n.tr.Stats()}
}

// Close stops every driver and the replica, waits for their goroutines, then closes the transport.
// Proposals in progress fail with ErrClosed. Later calls return ErrClosed.
func (n *Node) Close() error {
	err := ErrClosed
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		close(n.stop)
		n.wg.Wait()
		err = n.tr.Close()
	})
	return err
}

// Join creates this node's member of group, asks the membership service to add it, and starts its
// driver. app receives the member's events on the driver goroutine. The view arrives as EventView.
func (n *Node) Join(group string, app Application) error {
	if app == nil || group == "" || len(group) > maxGroupNameBytes {
		return fmt.Errorf("%w: Join needs an application and a group name of 1 to %d bytes", ErrConfig, maxGroupNameBytes)
	}
	vc := vsync.Config{}
	if n.cfg.Member != nil {
		n.cfg.Member(&vc)
	}
	vc.Group, vc.Self, vc.Oracle, vc.Storage = group, n.MemberID(), n.oracle, n.cfg.Log
	m, err := vsync.NewMember(vc)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.groups[group] != nil {
		return fmt.Errorf("%w: %q", ErrJoined, group)
	}
	d := newDriver(n, group, m, app)
	n.groups[group] = d
	n.wg.Add(1)
	go d.run()
	return nil
}

func (n *Node) logf(format string, args ...any) {
	if n.cfg.Logf != nil {
		n.cfg.Logf(format, args...)
	}
}

func (n *Node) driverOf(group string) *driver {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.groups[group]
}

// removeDriver forgets d (its member stopped).
func (n *Node) removeDriver(d *driver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.groups[d.name] == d {
		delete(n.groups, d.name)
	}
}

// deliver is the transport's callback (one reader goroutine per peer connection).
func (n *Node) deliver(in peer.Inbound) {
	env, err := decodeEnvelope(in.Payload)
	if err != nil {
		n.decodeErrors.Add(1)
		return
	}
	switch env.Kind {
	case KindRaft:
		msgs := make([]*raftpb.Message, 0, len(env.Bodies))
		for _, b := range env.Bodies {
			m := &raftpb.Message{}
			if err := proto.Unmarshal(b, m); err != nil {
				n.decodeErrors.Add(1)
				continue
			}
			msgs = append(msgs, m)
		}
		n.toReplica(replicaIn{raft: msgs})
	case KindMember, KindOracle:
		dec := n.decoderOf(in.From)
		msgs := getMsgs(len(env.Bodies))
		k := 0
		for _, b := range env.Bodies {
			// Payloads alias in.Payload, which the transport handed over (see peer.Inbound).
			if err := dec.Unmarshal(b, &msgs[k]); err != nil {
				n.decodeErrors.Add(1)
				msgs[k] = vsync.Message{} // partly decoded: keep msgs[k:] zero (putMsgs relies on it)
				continue
			}
			k++
		}
		msgs = msgs[:k]
		if env.Kind == KindOracle {
			n.toReplica(replicaIn{msgs: msgs})
		} else {
			n.toGroup(env.Group, msgs)
		}
	}
}

// maxDecoders bounds the per-peer decoders; frames from further peers decode without interning.
const maxDecoders = 256

// decoderOf returns the message decoder of peer from. The transport delivers one peer's frames one at
// a time, so each decoder is used by one goroutine at a time; its interned strings are immutable and
// may be shared.
func (n *Node) decoderOf(from peer.NodeID) *vsync.Decoder {
	n.decMu.Lock()
	defer n.decMu.Unlock()
	d := n.decoders[from]
	if d == nil && len(n.decoders) < maxDecoders {
		d = &vsync.Decoder{}
		n.decoders[from] = d
	}
	return d // nil: Unmarshal without interning
}

func (n *Node) toReplica(in replicaIn) {
	if n.rep == nil {
		n.unroutable.Add(uint64(len(in.msgs) + len(in.raft)))
		return
	}
	select {
	case n.rep.inbox <- in:
	default:
		n.inboxDropped.Add(uint64(len(in.msgs) + len(in.raft)))
	}
}

func (n *Node) toGroup(group string, msgs []vsync.Message) {
	d := n.driverOf(group)
	if d == nil {
		n.unroutable.Add(uint64(len(msgs)))
		putMsgs(msgs)
		return
	}
	select {
	case d.inbox <- msgs:
	default:
		n.inboxDropped.Add(uint64(len(msgs)))
		putMsgs(msgs)
	}
}

// maxEnvelopeBodyBytes is where send starts a new envelope for the same destination.
const maxEnvelopeBodyBytes = 256 << 10

type route struct {
	node  peer.NodeID
	kind  Kind
	group string
}

// outBatch is the envelope being built for one route: bodies holds the encoded messages, each with its
// uvarint length prefix (the envelope's body list), count how many.
type outBatch struct {
	bodies []byte
	count  int
	local  []vsync.Message
}

// outbox is the reusable state of sendMessages for one sending goroutine (a driver or the replica):
// its buffers survive from one Ready to the next, so routing a Ready allocates only the envelopes the
// transport keeps. Bound: bodies of one batch stay under maxEnvelopeBodyBytes (plus one message).
type outbox struct {
	order   []route
	batches map[route]*outBatch
	scratch []byte // one encoded message
}

func newOutbox() *outbox { return &outbox{batches: map[route]*outBatch{}} }

// sendMessages routes vsync messages: oracle requests to the replica of the node named by To, everything
// else to the member named by To. Messages to this node skip the transport; the others are encoded and
// leave in one envelope per destination (node, kind, group), in their order.
func (n *Node) sendMessages(ob *outbox, msgs []vsync.Message) {
	for i := range msgs {
		msg := &msgs[i]
		r := route{kind: KindMember, group: msg.Group}
		var err error
		if msg.Kind == vsync.MsgOracleRequest {
			r.kind, r.group = KindOracle, ""
			r.node, err = nodeOfReplica(msg.To)
		} else {
			r.node, err = nodeOfMember(msg.To)
		}
		if err != nil {
			n.unroutable.Add(1)
			continue
		}
		b := ob.batches[r]
		if b == nil {
			b = &outBatch{}
			ob.batches[r] = b
		}
		if b.count == 0 && len(b.local) == 0 {
			ob.order = append(ob.order, r)
		}
		if r.node == n.cfg.Self {
			b.local = append(b.local, *msg)
			continue
		}
		ob.scratch, err = msg.AppendBinary(ob.scratch[:0])
		if err != nil {
			panic(fmt.Sprintf("group: marshal %v: %v", msg.Kind, err)) // vsync produced an unencodable message
		}
		if b.count > 0 && len(b.bodies)+len(ob.scratch) > maxEnvelopeBodyBytes || b.count == maxEnvelopeMessages {
			n.transmit(r, b)
		}
		b.bodies = binary.AppendUvarint(b.bodies, uint64(len(ob.scratch)))
		b.bodies = append(b.bodies, ob.scratch...)
		b.count++
	}
	for _, r := range ob.order {
		b := ob.batches[r]
		switch {
		case len(b.local) > 0 && r.kind == KindOracle:
			n.toReplica(replicaIn{msgs: b.local})
			b.local = nil // handed over
		case len(b.local) > 0:
			n.toGroup(r.group, b.local)
			b.local = nil
		case b.count > 0:
			n.transmit(r, b)
		}
	}
	ob.order = ob.order[:0]
	if len(ob.batches) > 64 { // routes seen once (e.g. joiners) do not accumulate
		clear(ob.batches)
	}
	if cap(ob.scratch) > maxEnvelopeBodyBytes {
		ob.scratch = nil
	}
}

// sendRaft sends the replica's raft messages, one envelope per destination node.
func (n *Node) sendRaft(msgs []membership.RaftMessage) {
	var order []peer.NodeID
	bodies := map[peer.NodeID][][]byte{}
	for _, rm := range msgs {
		id, err := nodeOfReplica(rm.To)
		if err != nil {
			n.unroutable.Add(1)
			continue
		}
		if id == n.cfg.Self { // raft never addresses itself; tolerate it anyway
			n.toReplica(replicaIn{raft: []*raftpb.Message{proto.Clone(rm.Msg).(*raftpb.Message)}})
			continue
		}
		b, err := proto.Marshal(rm.Msg)
		if err != nil {
			panic(fmt.Sprintf("group: marshal raft message: %v", err))
		}
		if bodies[id] == nil {
			order = append(order, id)
		}
		bodies[id] = append(bodies[id], b)
	}
	for _, id := range order {
		n.send(id, encodeEnvelope(nil, KindRaft, "", bodies[id]))
	}
}

func (n *Node) transmit(r route, b *outBatch) {
	env := appendEnvelopeHeader(make([]byte, 0, envelopeHeaderMaxBytes+len(b.bodies)), r.kind, r.group, b.count)
	env = append(env, b.bodies...)
	b.bodies, b.count = b.bodies[:0], 0
	if cap(b.bodies) > 2*maxEnvelopeBodyBytes {
		b.bodies = nil
	}
	n.send(r.node, env)
}

// send hands one envelope to the transport.
func (n *Node) send(to peer.NodeID, env []byte) {
	if err := n.tr.Send(to, env); err != nil {
		n.sendDropped.Add(1)
		if !errors.Is(err, peer.ErrQueueFull) && !errors.Is(err, peer.ErrClosed) {
			n.logf("group: send to node %d: %v", to, err)
		}
	}
}
