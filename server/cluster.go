package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"
	"go.etcd.io/raft/v3"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/server/group"
	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/membership"
	"github.com/vsdb/vsdb/wal"
)

// ClusterConfig makes a node one member of a clustered DHT (nil in Config.Cluster: a single in-memory
// node). Every node of a cluster lists the same Oracle and DHT parameters.
type ClusterConfig struct {
	// Self is this node's id (1, 2, …), unique in the cluster. Required.
	Self peer.NodeID
	// PeerAddr is the TCP address of this node's peer transport. Required.
	PeerAddr string
	// Peers maps every node id to its peer address (Self's entry is ignored).
	Peers map[peer.NodeID]string
	// Oracle lists the nodes that run the membership service (1 to 5). Required.
	Oracle []peer.NodeID
	// Incarnation distinguishes this process from earlier ones with the same Self; a restarted process
	// must use a larger value. Default: the start time in milliseconds.
	Incarnation uint64
	// DHT are the DHTEnable parameters (RF, ExpectedGroupSize, MinGroupSize).
	DHT dht.Params
	// Group is the vsync group of the DHT. Default "dht".
	Group string
	// AnnounceAddr is the client-facing RESP address other nodes report in CLUSTER SLOTS/SHARDS/NODES.
	// Default the RESP listener's address.
	AnnounceAddr string
	// OpTimeout bounds one replicated operation (its ordered round to the group). Default 5 s.
	OpTimeout time.Duration
	// CommitQueue bounds the acknowledged-write notices waiting to be multicast. Default 65536.
	CommitQueue int
	// WriteBatchMaxCmds bounds the strict-write commands one ordered op carries (group commit: the
	// writes waiting at this node go out together). Default 1024; 1 to 65536.
	WriteBatchMaxCmds int
	// WriteBatchesInFlight bounds this node's strict-write ops in the group at once; writes arriving
	// meanwhile wait and form the next batch. Default 1 (measured best of 1, 2, 4, 8 with writes acknowledged at delivery: docs/benchmarks.md §4.5); 1 to 256.
	WriteBatchesInFlight int
	// WriteAck is when a strict write is acknowledged: "delivery" (default: when this node's own
	// member delivers the write in the total order, from its own replica's answer, provided the node
	// is a ready replica of every shard the write touches; otherwise as "all") or "all" (when every
	// member of the group answered, i.e. every replica applied it). Both are linearizable
	// (docs/cluster.md, "Consistency"); "delivery" saves the replies' hop.
	WriteAck string
	// RelayDelay is how long the group's sequencer, idle, holds back the relay of what every member
	// holds, waiting for a next write to carry it (group.Config.RelayDelay): the other replicas apply
	// the last write up to this much later. Default 500 µs; negative: relay as soon as idle.
	RelayDelay time.Duration
	// Redirect is how a node answers a command for a shard it does not hold: "none" (default: it serves
	// it through the group, so every node serves every command) or "moved" (Redis Cluster's -MOVED slot
	// host:port to a ready replica of the key's shard, for clients that route by slot; keyless,
	// multi-shard and MULTI/EXEC commands are still served everywhere).
	Redirect string
	// QueryFanout is the fan-out of a cut query's combining tree (each representative merges the
	// partials of up to QueryFanout children before sending up; dht/tree.go). Default 2; 1 to 64.
	QueryFanout int
	// Consistency is the write mode of new connections: "strict" (default) or "soft" (CLIENT
	// CONSISTENCY changes it per connection).
	Consistency string
	// DataDir is the directory of this node's durable state: today the membership replica's raft log
	// (wal.RaftLog) and the SafeSend acceptor log (wal.SafeLog) in one Badger database, so a restarted
	// oracle node keeps its raft term, vote and log as raft requires. Empty (the default): in memory, and a restarted oracle node comes back with an
	// empty raft log (see docs/vsync.md, the membership service's known limitation).
	DataDir string
	// OnView, if set, is called with the new layout after each view change (the embedded API's view
	// upcall). It runs on the group's driver goroutine: it must return quickly and must not call the
	// node's data API (hand the work to another goroutine).
	OnView func(dht.Layout)
	// Values, if set, are the persistence methods of this node's replica (the manual's
	// SetDHTPersistenceMethods: shard.ValueStore's Write is the writerMethod, Read the readerMethod):
	// string values of at least ValuesMinBytes live there and the replica keeps their handles; state
	// transfer to a joiner reads through it. Local to this node, like the manual's (other nodes may use
	// another or none). nil (default): values in memory. shard.NewMemoryValues is an in-memory one.
	Values shard.ValueStore
	// ValuesMinBytes: only values of at least this many bytes go to Values. Default 0 (every value).
	ValuesMinBytes int
	// Hashers are the custom key hashers of hash generations 1, 2, … (the manual's GetHashCode
	// control; dht/rehash.go): Node.ChangeHashGeneration switches the cluster to one at a consistent
	// cut and moves the keys that change shard. Every node must return the same hasher for a
	// generation; a node that does not know the group's generation is refused at join, and one that
	// meets an unknown generation leaves the group. nil (default): only generation 0 (Redis Cluster's
	// CRC16 slots).
	Hashers dht.Hashers
	// MigrationWait is how long a command that arrives while keys move to a new hash generation is
	// retried before the client gets the TRYAGAIN error. Default 5 s.
	MigrationWait time.Duration
}

func (c ClusterConfig) withDefaults() ClusterConfig {
	if c.Incarnation == 0 {
		c.Incarnation = uint64(time.Now().UnixMilli())
	}
	if c.Group == "" {
		c.Group = "dht"
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 5 * time.Second
	}
	if c.CommitQueue == 0 {
		c.CommitQueue = 65536
	}
	if c.WriteBatchMaxCmds == 0 {
		c.WriteBatchMaxCmds = defaultWriteBatchMaxCmds
	}
	if c.WriteBatchesInFlight == 0 {
		c.WriteBatchesInFlight = defaultWriteBatchesInFlight
	}
	if c.Redirect == "" {
		c.Redirect = "none"
	}
	if c.WriteAck == "" {
		c.WriteAck = "delivery"
	}
	if c.QueryFanout == 0 {
		c.QueryFanout = dht.DefaultQueryFanout
	}
	if c.Consistency == "" {
		c.Consistency = "strict"
	}
	if c.MigrationWait == 0 {
		c.MigrationWait = 5 * time.Second
	}
	c.DHT = c.DHT.WithDefaults()
	return c
}

// errClusterDown is the error of an operation at a node whose member stopped (it rejoins by itself).
var errClusterDown = errors.New(dht.ErrClusterDown)

/*
clusterPlane is the data plane of a clustered node: a dht.Cluster replica fed by the node's member of
the DHT group, and the client side of replicated operations.

Paths:
  - a read that the local replica can answer linearizably is answered at once, after the read index
    (group.Node.AwaitReadIndex: this replica applied every write any member may have acknowledged
    before the read arrived) and dht.Cluster.ReadLocal (loaded replica, no pending key);
  - a strict write whose shards this member serves (WriteAck "delivery", the default) is one
    OrderedSend with dht.Op.LocalAck, batched with the other writes waiting here: it is acknowledged
    at this member's own delivery, from its own replica's answer (ownAcks, writeAtDelivery); vsync
    delivers only once every member holds it, so every survivor applies it;
  - every other command is one replicated op: an OrderedQuery to the group that every member delivers
    at the same point of the total order; the replicas of the touched shards apply it and answer, the
    others answer null; the query ends when every member answered, so a write is acknowledged only
    once every replica of its shards applied it. The originator merges one answer per shard. After such
    a write it releases the keys at its own replica and queues a commit notice for the others (the next
    write op carries it, or it is multicast alone when no write comes; see commitNotices), which lets
    replicas serve the keys locally again.

Goroutines (owned by the plane, stopped by Close): the commit batcher, the shard-transfer sender, and the
announcer/readiness multicaster; the group driver belongs to the group.Node.
*/
type clusterPlane struct {
	cfg   ClusterConfig
	inst  atomic.Pointer[instance] // the current member; replaced when it rejoins
	nowMs func() int64

	nextID  atomic.Uint64
	writes  chan *writeReq // strict writes waiting to be batched into one ordered op
	commits *commitNotices // acknowledged strict writes whose notice has not gone out (see commitNotices)
	softIDs chan uint64    // soft writes: their commit notice waits for a Flush
	xfers   chan []dht.Transfer
	notes   chan []byte // ops to multicast in the background (announce, ready)
	chunks  chan []byte // hash-migration chunks to multicast in the background (retried until sent)

	// writeBatches and writeBatchRequests count the strict-write batches sent and the requests in them
	// (vsdb_write_batches_total, vsdb_write_batch_requests_total: their ratio is the mean batch size).
	writeBatches, writeBatchRequests atomic.Uint64

	logf      func(string, ...any)
	rejoining atomic.Bool

	// raftStorage is the membership replica's raft storage, handed to every instance in turn (a
	// rejoin's new group node takes over the old one's log); db holds it when DataDir is set.
	raftStorage membership.RaftStorage
	safeLog     group.LogStore // the SafeSend acceptor log, likewise shared by the instances
	db          *wal.DB

	announceAddr atomic.Pointer[string]

	// Pause detection for local reads (see watchdog).
	lastBeatNs     atomic.Int64
	noLocalUntilNs atomic.Int64
	stopped        atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newClusterPlane(cfg ClusterConfig, nowMs func() int64, logf func(string, ...any)) (*clusterPlane, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	p := &clusterPlane{cfg: cfg, nowMs: nowMs, logf: logf,
		writes:  make(chan *writeReq, maxWriteQueue),
		commits: newCommitNotices(cfg.CommitQueue), softIDs: make(chan uint64, cfg.CommitQueue), xfers: make(chan []dht.Transfer, 64), notes: make(chan []byte, 64),
		chunks: make(chan []byte, maxChunksQueued)}
	p.raftStorage, p.safeLog = raft.NewMemoryStorage(), group.NewMemLog()
	if cfg.DataDir == "" && slices.Contains(cfg.Oracle, cfg.Self) {
		logf("dht: this node runs a membership replica with no data directory (--cluster-data-dir): its raft log is in memory, and a restart that loses it on two replicas at once can break the membership service (docs/vsync.md §13)")
	}
	if cfg.DataDir != "" {
		db, rl, sl, err := openDataDir(cfg.DataDir, logf)
		if err != nil {
			return nil, err
		}
		p.db, p.raftStorage, p.safeLog = db, rl, sl
	}
	inst, err := p.newInstance(cfg.Incarnation)
	if err != nil {
		_ = p.closeDB()
		return nil, err
	}
	p.inst.Store(inst)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.lastBeatNs.Store(time.Now().UnixNano())
	p.wg.Add(5 + cfg.WriteBatchesInFlight)
	for range cfg.WriteBatchesInFlight {
		go p.batchWorker()
	}
	go p.watchdog()
	go p.commitLoop()
	go p.softLoop()
	go p.transferLoop()
	go p.noteLoop()
	if err := inst.gn.Join(cfg.Group, inst); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

/*
instance is one incarnation of this node's member: its group node (transport, membership replica,
driver) and its DHT replica. A member dropped from the view (a partition, a long pause) is firewalled
and stops for good (vsync's primary-partition rule); the node then rejoins as a new incarnation with an
empty replica: rejoin closes the old instance, starts a new one with a larger incarnation, and swaps it
in. Client operations use whichever instance is current.
*/
type instance struct {
	p       *clusterPlane
	gn      *group.Node
	c       *dht.Cluster
	inc     uint64
	stopped atomic.Bool
	// isolated: the member's lease with the membership service ran out (vsync.EventLease); local reads
	// are refused until it is renewed, since the service may have installed a view without it.
	isolated atomic.Bool
	metaBuf  []byte  // vsync checkpoint being loaded (driver goroutine only)
	acks     ownAcks // this member's LocalAck writes waiting for their delivery
}

func (p *clusterPlane) newInstance(inc uint64) (*instance, error) {
	self := group.MemberID(p.cfg.Self, inc)
	c, err := dht.NewCluster(self, p.cfg.DHT, shard.Config{EvictionPolicy: "noeviction", EvictionSamples: 5,
		Values: p.cfg.Values, ValuesMinBytes: p.cfg.ValuesMinBytes})
	if err != nil {
		return nil, err
	}
	c.SetHashers(p.cfg.Hashers)
	gn, err := group.New(group.Config{Self: p.cfg.Self, ListenAddr: p.cfg.PeerAddr, Peers: p.cfg.Peers,
		Oracle: p.cfg.Oracle, Incarnation: inc, Logf: p.logf, RaftStorage: p.raftStorage, Log: p.safeLog,
		RelayDelay: p.cfg.RelayDelay})
	if err != nil {
		return nil, err
	}
	in := &instance{p: p, gn: gn, c: c, inc: inc}
	c.SetOwnAck(in.acks.deliver)
	return in, nil
}

// cur returns the current instance.
func (p *clusterPlane) cur() *instance { return p.inst.Load() }

// rejoin replaces a stopped instance with a new incarnation (one attempt a second until it works or
// the plane closes).
func (p *clusterPlane) rejoin(old *instance) {
	defer p.wg.Done()
	defer p.rejoining.Store(false)
	_ = old.gn.Close()
	old.acks.fail(errClusterDown)
	for attempt := 0; ; attempt++ {
		inc := max(old.inc+1, uint64(time.Now().UnixMilli()))
		inst, err := p.newInstance(inc)
		if err == nil {
			if err = inst.gn.Join(p.cfg.Group, inst); err == nil {
				p.inst.Store(inst)
				p.logf("dht: member %s stopped; rejoined as %s", group.MemberID(p.cfg.Self, old.inc), group.MemberID(p.cfg.Self, inc))
				if a := p.announceAddr.Load(); a != nil {
					p.note(&dht.Op{Kind: dht.OpAnnounce, Addr: *a})
				}
				return
			}
			_ = inst.gn.Close()
		}
		p.logf("dht: rejoin attempt %d: %v", attempt+1, err)
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// announce sets the client-facing address this member reports, and multicasts it.
func (p *clusterPlane) announce(addr string) {
	p.announceAddr.Store(&addr)
	p.note(&dht.Op{Kind: dht.OpAnnounce, Addr: addr})
}

// Event is the group driver's upcall (group.Application): it runs on the driver goroutine.
func (in *instance) Event(r *group.Responder, ev vsync.Event) {
	p := in.p
	defer in.sendOutgoing(r)
	switch ev.Kind {
	case vsync.EventView:
		if xs := in.c.OnView(ev.View); len(xs) > 0 {
			select {
			case p.xfers <- xs:
			default: // a burst of view changes: the next view restarts the transfers anyway
			}
		}
		if s, ok := in.c.TakeLoadedAtView(); ok {
			op := in.c.ReadyOp(s)
			p.note(&op)
		}
		l := in.c.Layout()
		p.logf("dht: %s", l)
		if p.cfg.OnView != nil {
			p.cfg.OnView(l)
		}
		// Re-announce: a member that joined after our announcement must learn our address (the
		// metadata of its state transfer has it, unless we announced during the change).
		if a := p.announceAddr.Load(); a != nil {
			p.note(&dht.Op{Kind: dht.OpAnnounce, Addr: *a})
		}
	case vsync.EventDeliver:
		reply, deferred := in.c.ApplyDelivery(ev.Delivery.Tag.Sender, ev.Delivery.Payload, ev.Delivery.Flavour != vsync.FlavourSend, r.QueryID())
		in.leaveOnFault()
		if r.Query() {
			switch {
			case deferred:
				r.Defer()
			case reply != nil:
				_ = r.Reply(reply)
			default:
				_ = r.NullReply()
			}
		}
	case vsync.EventP2P:
		op, err := dht.DecodeOp(ev.Delivery.Payload)
		switch {
		case err != nil:
		case op.Kind == dht.OpChunk:
			if in.c.OnChunk(ev.Delivery.Tag.Sender, op) {
				p.logf("dht: %s loaded shard %d from %s", in.c.Self(), op.Shard, ev.Delivery.Tag.Sender)
				ready := in.c.ReadyOp(op.Shard)
				p.note(&ready)
			}
		case op.Kind == dht.OpPartial:
			in.c.OnPartial(op)
		}
	case vsync.EventLoadChunk:
		if ev.ChunkSeq == 1 {
			in.metaBuf = in.metaBuf[:0]
		}
		in.metaBuf = append(in.metaBuf, ev.Chunk...)
		if ev.Last {
			if err := in.c.LoadMeta(in.metaBuf); err != nil {
				p.logf("dht: %v", err)
			}
			in.leaveOnFault()
		}
	case vsync.EventLease:
		in.isolated.Store(ev.Isolated)
		if ev.Isolated {
			p.logf("dht: member %s lost its lease with the membership service: isolated (no local reads)", group.MemberID(p.cfg.Self, in.inc))
		} else {
			p.logf("dht: member %s renewed its lease", group.MemberID(p.cfg.Self, in.inc))
		}
	case vsync.EventStopped:
		in.stopped.Store(true)
		in.acks.fail(errClusterDown)
		in.c.Stop()
		// A faulted member left on purpose (leaveOnFault): rejoining would fault again.
		if p.ctx.Err() == nil && in.c.Fault() == nil && p.rejoining.CompareAndSwap(false, true) {
			p.wg.Add(1)
			go p.rejoin(in)
		}
	}
}

// leaveOnFault takes the member out of the group once its replica reports a Fault (other DHT
// parameters, or a hash generation it does not know): it can follow the group no longer. The node stays
// out (it answers CLUSTERDOWN) until it is restarted with the right configuration.
func (in *instance) leaveOnFault() {
	p := in.p
	err := in.c.Fault()
	if err == nil || !in.stopped.CompareAndSwap(false, true) {
		return
	}
	p.logf("dht: %v: leaving the group; restart this node with the group's configuration", err)
	p.wg.Add(1)
	go func() { // not on the driver goroutine
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OpTimeout)
		defer cancel()
		_ = in.gn.Leave(ctx, p.cfg.Group)
	}()
}

// sendOutgoing sends what the replica queued (the combining tree's partials and deferred answers), on
// the driver goroutine. A send that fails (the member is stopping, the peer left) loses the partial;
// the query's originator then misses shards and retries.
func (in *instance) sendOutgoing(r *group.Responder) {
	for _, o := range in.c.TakeOutgoing() {
		var err error
		if o.Multicast {
			select {
			case in.p.chunks <- o.Payload:
			default:
				in.c.MigrationUnsent() // cut again at the next event
			}
			continue
		}
		if o.Reply {
			err = r.ReplyLater(o.To, o.QueryID, o.Payload)
		} else {
			err = r.P2P(o.To, o.Payload)
		}
		if err != nil {
			in.p.logf("dht: query partial to %s: %v", o.To, err)
		}
	}
}

// Checkpoint is the vsync state transfer to joiners: the DHT metadata (shard data moves point to point).
func (in *instance) Checkpoint(vsync.View) (vsync.CheckpointSource, error) {
	return vsync.BytesCheckpoint(in.c.Meta()), nil
}

// note queues an op to multicast from a background goroutine (never from the driver goroutine).
func (p *clusterPlane) note(op *dht.Op) {
	select {
	case p.notes <- op.Encode(nil):
	default:
	}
}

func (p *clusterPlane) noteLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case b := <-p.notes:
			ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OpTimeout)
			_, _ = p.cur().gn.OrderedSend(ctx, p.cfg.Group, b)
			cancel()
		case b := <-p.chunks:
			// A chunk must go out, or the migration waits for the next view: retry while it runs (a
			// duplicate delivery is ignored, dht/rehash.go).
			for try := 0; try < maxChunkSendAttempts && p.ctx.Err() == nil && p.cur().c.Migrating(); try++ {
				ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OpTimeout)
				_, err := p.cur().gn.OrderedSend(ctx, p.cfg.Group, b)
				cancel()
				if err == nil {
					break
				}
			}
		}
	}
}

func (p *clusterPlane) transferLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case xs := <-p.xfers:
			for _, x := range xs {
				// Chunks are cut one at a time from the live store (dht/export.go), so the donor's
				// memory holds one chunk, not a copy of its shard.
				for {
					ch, last, ok := x.Next()
					if !ok {
						break // a view change ended it: the next view restarts it
					}
					ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OpTimeout)
					err := p.cur().gn.P2PSend(ctx, p.cfg.Group, x.To, ch)
					cancel()
					if err != nil || last {
						break // the recipient left or the view changed: the next view restarts it
					}
				}
			}
		}
	}
}

/*
Write batching (group commit). Strict writes that arrive while earlier batches are in flight wait in
p.writes; each of WriteBatchesInFlight workers, when free, takes everything waiting (up to
WriteBatchMaxCmds commands) into one ordered op. Every request's commands keep their order and get
their own replies (each command's parts are indexed in the op). A batch is one op in the total order:
its requests are applied together, which only strengthens their ordering; if any of them touches a
shard without a ready replica the whole batch is refused (CLUSTERDOWN for each), as one op would be.
*/
const (
	maxWriteQueue = 4096
	// maxChunksQueued bounds the hash-migration chunks waiting to be multicast (a member sends one
	// chunk at a time, re-cut after a view change; past the bound the chunk is cut again later).
	maxChunksQueued = 16
	// maxChunkSendAttempts bounds the retries of one chunk's multicast (then the next view resends).
	maxChunkSendAttempts        = 10
	defaultWriteBatchMaxCmds    = 1024
	defaultWriteBatchesInFlight = 1
)

type writeReq struct {
	cmds    [][][]byte
	watches []dht.Watch   // EXEC after WATCH: the request's commands are guarded by these
	res     chan writeRes // buffered (1): the sender never blocks
}

type writeRes struct {
	parts dht.Collected // per command: shard → reply
	err   error
}

// batchWorker is one of the WriteBatchesInFlight goroutines that send strict writes: it takes the first
// request waiting, everything else queued behind it (up to WriteBatchMaxCmds commands), and runs them as
// one op. Long-lived workers, not a goroutine per batch: a fresh goroutine grew its stack on every op
// (copystack was 5 % of a master's CPU at one client, docs/benchmarks.md §4.8).
func (p *clusterPlane) batchWorker() {
	defer p.wg.Done()
	var batch []*writeReq
	for {
		var first *writeReq
		select {
		case <-p.ctx.Done():
			return
		case first = <-p.writes:
		}
		batch = append(batch[:0], first)
		n := len(first.cmds)
	drain:
		for n < p.cfg.WriteBatchMaxCmds {
			select {
			case r := <-p.writes:
				batch = append(batch, r)
				n += len(r.cmds)
			default:
				break drain
			}
		}
		p.writeBatches.Add(1)
		p.writeBatchRequests.Add(uint64(len(batch)))
		p.sendBatch(batch, n)
		clear(batch) // the requests are answered: hold no reference to them until the next batch
	}
}

// sendBatch runs one batch as one ordered op and hands each request its replies. With WriteAck
// "delivery" and this member a ready replica of every shard the batch touches, the op is acknowledged
// at this member's own delivery (writeAtDelivery); otherwise, or if that op was applied nowhere, it is
// an ordered query that every member answers.
func (p *clusterPlane) sendBatch(batch []*writeReq, n int) {
	cmds := make([][][]byte, 0, n)
	var guards []dht.Guard
	for _, r := range batch {
		if len(r.watches) > 0 {
			guards = append(guards, dht.Guard{First: len(cmds), Count: len(r.cmds), Watches: r.watches})
		}
		cmds = append(cmds, r.cmds...)
	}
	// The op carries the notices of earlier acknowledged writes (see commitNotices).
	op := dht.Op{Kind: dht.OpWrite, ID: p.nextID.Add(1), NowMs: p.nowMs(), Cmds: cmds, IDs: p.commits.take(), Guards: guards}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OpTimeout)
	defer cancel()
	in := p.cur()
	parts, err := p.writeOp(ctx, in, &op)
	if err != nil {
		if len(op.IDs) > 0 {
			p.commits.add(op.IDs...)
		}
		for _, r := range batch {
			r.res <- writeRes{err: err}
		}
		return
	}
	off := 0
	for _, r := range batch {
		r.res <- writeRes{parts: parts.Slice(off, off+len(r.cmds))}
		off += len(r.cmds)
	}
}

// writeOp runs one strict write op (see sendBatch) and returns its parts.
func (p *clusterPlane) writeOp(ctx context.Context, in *instance, op *dht.Op) (dht.Collected, error) {
	if p.cfg.WriteAck == "delivery" && in.c.CanAckLocally(op.Cmds) {
		parts, applied, err := p.writeAtDelivery(ctx, in, op)
		if err != nil || applied {
			return parts, err
		}
		// Applied nowhere: send it again as a query. Its commit notices were delivered with it.
		*op = dht.Op{Kind: dht.OpWrite, ID: p.nextID.Add(1), NowMs: op.NowMs, Cmds: op.Cmds, Guards: op.Guards}
	}
	res, err := in.gn.Query(ctx, p.cfg.Group, vsync.FlavourOrdered, op.Encode(nil), vsync.ReplyAll, 0)
	if err != nil {
		return dht.Collected{}, fmt.Errorf("server: the write's ordered query: %w", err)
	}
	in.c.Commit(in.c.Self(), op.ID)
	p.commits.add(op.ID)
	return dht.CollectParts(res.Replies, len(op.Cmds)), nil
}

// maxIDBatch bounds the op ids one commit notice carries.
const maxIDBatch = 4096

// nextBatch waits for an id on ch, then takes whatever else is queued (up to maxIDBatch); false when
// the plane closes.
func (p *clusterPlane) nextBatch(ch chan uint64) ([]uint64, bool) {
	var ids []uint64
	select {
	case <-p.ctx.Done():
		return nil, false
	case id := <-ch:
		ids = append(ids, id)
	}
	for len(ids) < maxIDBatch {
		select {
		case id := <-ch:
			ids = append(ids, id)
		default:
			return ids, true
		}
	}
	return ids, true
}

// Watchdog constants: a gap of pauseGap between beats means the process was stopped (SIGSTOP, a VM
// pause, a long GC); local reads then stay off for pauseQuarantine, longer than the failure suspicion
// (1 s by default), so that by then the member either learned it was dropped from the view (and
// stopped) or renewed its lease with the membership service.
const (
	beatEvery       = 20 * time.Millisecond
	pauseGap        = 100 * time.Millisecond
	pauseQuarantine = 2 * time.Second
)

/*
watchdog guards linearizable local reads against process pauses. A replica serves a read locally only
while it is in the current view; vsync's member notices that it was dropped (its lease with the
membership service ran out, or it is firewalled) only when its driver runs again after a pause, and a
client goroutine may run first. The watchdog beats every beatEvery; a beat that comes pauseGap late
means the process did not run, and local reads are refused (they take the ordered path, which a dropped
member cannot complete) for pauseQuarantine.
*/
func (p *clusterPlane) watchdog() {
	defer p.wg.Done()
	t := time.NewTicker(beatEvery)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-t.C:
			if gap := now.UnixNano() - p.lastBeatNs.Load(); gap > int64(pauseGap) {
				p.noLocalUntilNs.Store(now.UnixNano() + int64(pauseQuarantine))
			}
			p.lastBeatNs.Store(now.UnixNano())
		}
	}
}

// awaitReadIndex waits, at most OpTimeout, until this member applied every write any member may have
// acknowledged before now (group.Node.AwaitReadIndex); false: it did not (the read takes the ordered
// path).
func (p *clusterPlane) awaitReadIndex(ctx context.Context, in *instance) bool {
	if in.gn.ReadIndexApplied(p.cfg.Group) {
		return true // the common case: no context, no timer
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.OpTimeout)
	defer cancel()
	return in.gn.AwaitReadIndex(ctx, p.cfg.Group) == nil
}

// localReadsOK reports whether the watchdog allows local reads now.
func (p *clusterPlane) localReadsOK() bool {
	now := time.Now().UnixNano()
	return now-p.lastBeatNs.Load() < int64(pauseGap) && now >= p.noLocalUntilNs.Load()
}

// softLoop releases soft writes for local reads: a soft write was acknowledged by one replica, so its
// commit notice waits until a Flush made every earlier multicast of this member stable everywhere.
func (p *clusterPlane) softLoop() {
	defer p.wg.Done()
	for {
		ids, ok := p.nextBatch(p.softIDs)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OpTimeout)
		_, err := p.cur().gn.Flush(ctx, p.cfg.Group, 0)
		cancel()
		if err != nil {
			continue // the keys stay pending until the next view change
		}
		in := p.cur()
		in.c.Commit(in.c.Self(), ids...)
		p.commits.add(ids...)
	}
}

// wait is WAIT numreplicas timeout: Flush(numreplicas+1) of the group (this member and numreplicas
// others hold every earlier multicast of this member). It returns numreplicas once that holds, 0 if
// the timeout (0: none) ended it first.
func (p *clusterPlane) wait(ctx context.Context, numReplicas int, timeout time.Duration) int64 {
	if numReplicas <= 0 {
		return 0
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if _, err := p.cur().gn.Flush(ctx, p.cfg.Group, numReplicas+1); err != nil {
		return 0
	}
	return int64(numReplicas)
}

// Handles reports whether the command is a data command.
func (p *clusterPlane) Handles(name []byte) bool { return clusterStore.Handles(name) }

// clusterStore answers Handles/IsWrite (the command table of the store).
var clusterStore = shard.NewStore(shard.Config{EvictionPolicy: "noeviction", EvictionSamples: 5})

// Do runs one data command.
func (p *clusterPlane) Do(ctx context.Context, dst []byte, args [][]byte) ([]byte, error) {
	return p.run(ctx, dst, [][][]byte{args}, false, false, nil)
}

// doSoft runs one data command in soft mode: a write to one shard is acknowledged by the first replica
// that applied it (the others apply it at the same point of the order, later). Reads, and writes that
// span shards, run as in strict mode.
func (p *clusterPlane) doSoft(ctx context.Context, dst []byte, args [][]byte) ([]byte, error) {
	return p.run(ctx, dst, [][][]byte{args}, false, true, nil)
}

// DoAtomic runs a MULTI/EXEC body as one replicated op, conditional on watches (see dht/watch.go):
// if a watched key changed since WATCH, nothing runs and the reply is a null array.
func (p *clusterPlane) DoAtomic(ctx context.Context, dst []byte, cmds [][][]byte, watches []dht.Watch) ([]byte, error) {
	if len(cmds) == 0 && len(watches) > 0 {
		// No data command to carry the guard (MULTI PING EXEC after WATCH): a read of the first
		// watched key carries it, and its reply is dropped.
		out, err := p.run(ctx, nil, [][][]byte{{[]byte("EXISTS"), watches[0].Key}}, true, false, watches)
		switch {
		case err != nil:
			return dst, err
		case len(out) > 0 && (out[0] == '-' || string(out) == "*-1\r\n"):
			return append(dst, out...), nil
		}
		return redcon.AppendArray(dst, 0), nil
	}
	return p.run(ctx, dst, cmds, true, false, watches)
}

// Watch records key's version for a later EXEC: this member's write stamp of the key, then the key's
// deadline read through the cluster (strict), in that order (dht/watch.go says why).
func (p *clusterPlane) Watch(ctx context.Context, key []byte) (dht.Watch, error) {
	in := p.cur()
	if in.stopped.Load() {
		return dht.Watch{}, errClusterDown
	}
	view, version := in.c.WatchVersion(key)
	out, err := p.run(ctx, nil, [][][]byte{{[]byte("PEXPIRETIME"), key}}, false, false, nil)
	if err != nil {
		return dht.Watch{}, err
	}
	if len(out) > 0 && out[0] == '-' {
		return dht.Watch{}, &dht.ReplyError{Msg: strings.TrimRight(string(out[1:]), "\r\n")}
	}
	deadline, perr := strconv.ParseInt(strings.TrimRight(strings.TrimPrefix(string(out), ":"), "\r\n"), 10, 64)
	if perr != nil {
		panic(fmt.Sprintf("server: PEXPIRETIME answered %q", out))
	}
	return dht.Watch{Key: bytes.Clone(key), Version: version, View: view, DeadlineMs: deadline}, nil
}

// run executes cmds as one replicated op (or local reads). An op that met a hash migration (every
// replica answered dht.ErrMigrating) was applied nowhere: it is retried, backing off, for MigrationWait.
func (p *clusterPlane) run(ctx context.Context, dst []byte, cmds [][][]byte, multi, soft bool, watches []dht.Watch) ([]byte, error) {
	var deadline time.Time // set at the first ErrMigrating: the common path reads no clock
	backoff := time.Millisecond
	for {
		out, migrating, err := p.runOnce(ctx, dst, cmds, multi, soft, watches)
		if err != nil || !migrating {
			return out, err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(p.cfg.MigrationWait)
		} else if time.Now().After(deadline) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return dst, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// runOnce is one attempt of run; migrating reports that a shard answered dht.ErrMigrating.
func (p *clusterPlane) runOnce(ctx context.Context, dst []byte, cmds [][][]byte, multi, soft bool, watches []dht.Watch) (_ []byte, migrating bool, _ error) {
	in := p.cur()
	route := in.c.Router()
	write := false
	for _, cmd := range cmds {
		if len(cmd) == 0 || (!clusterStore.Handles(cmd[0]) && !dht.IsSlotCommand(cmd)) {
			return dst, false, dht.ErrNotDataCommand
		}
		if dht.IsSlotCommand(cmd) && route.Custom() {
			return redcon.AppendError(dst, dht.ErrSlotsCustomHasher), false, nil
		}
		if len(route.ShardsOf(cmd)) > 1 && !dht.CanSplit(cmd) {
			if multi {
				return redcon.AppendError(dst, "EXECABORT Transaction discarded because of: "+dht.ErrCrossShard[4:]), false, nil
			}
			return redcon.AppendError(dst, dht.ErrCrossShard), false, nil
		}
		write = write || clusterStore.IsWrite(cmd[0])
	}
	if in.stopped.Load() {
		return dht.AppendClusterDown(dst), false, nil
	}
	if p.cfg.Redirect == "moved" && !multi {
		if slot, addr, ok := in.c.Redirect(cmds[0]); ok {
			return redcon.AppendError(dst, fmt.Sprintf("MOVED %d %s", slot, addr)), false, nil
		}
	}
	now := p.nowMs()
	if !write && len(watches) == 0 && !in.isolated.Load() && p.localReadsOK() && p.awaitReadIndex(ctx, in) {
		if !multi {
			if out, ok := in.c.ReadLocal(dst, cmds, now); ok {
				return out, false, nil
			}
		} else if replies, ok := in.c.ReadLocal(nil, cmds, now); ok {
			// ReadLocal appends the replies one after the other; EXEC wants them in an array.
			return append(redcon.AppendArray(dst, len(cmds)), replies...), false, nil
		}
	}
	soft = soft && write && len(cmds) == 1 && len(route.ShardsOf(cmds[0])) == 1
	var col dht.Collected
	if write && !soft {
		// Strict writes go through the batcher (group commit).
		req := &writeReq{cmds: cmds, watches: watches, res: make(chan writeRes, 1)}
		select {
		case p.writes <- req:
		case <-ctx.Done():
			return dst, false, ctx.Err()
		}
		var r writeRes
		select {
		case r = <-req.res:
		case <-ctx.Done():
			return dst, false, ctx.Err()
		}
		if r.err != nil {
			return dst, false, fmt.Errorf("CLUSTERDOWN the replicated operation failed: %w", r.err)
		}
		col = r.parts
	} else {
		kind := dht.OpRead
		if write {
			kind = dht.OpWrite
		}
		op := dht.Op{Kind: kind, ID: p.nextID.Add(1), NowMs: now, Cmds: cmds}
		if len(watches) > 0 {
			op.Guards = []dht.Guard{{First: 0, Count: len(cmds), Watches: watches}}
		}
		qctx, cancel := context.WithTimeout(ctx, p.cfg.OpTimeout)
		defer cancel()
		want := vsync.ReplyAll
		if soft {
			want = 1
		}
		res, err := in.gn.Query(qctx, p.cfg.Group, vsync.FlavourOrdered, op.Encode(nil), want, 0)
		if err != nil {
			return dst, false, fmt.Errorf("CLUSTERDOWN the replicated operation failed: server: the ordered query: %w", err)
		}
		col = dht.CollectParts(res.Replies, len(cmds))
		if soft {
			select {
			case p.softIDs <- op.ID:
			default: // full: the keys stay pending until the next view change
			}
		}
	}
	// Every touched shard must have answered every command (the op is applied everywhere or nowhere).
	// A hash-generation change delivered before the op: its replicas answered ErrMigrating.
	parts := col.Parts
	for i := range cmds {
		for _, r := range parts[i] {
			if dht.IsMigratingReply(r) {
				return redcon.AppendError(dst, dht.ErrMigrating), true, nil
			}
		}
	}
	answered := func(rt dht.Router) bool {
		for i, cmd := range cmds {
			for _, s := range rt.ShardsOf(cmd) {
				if _, ok := parts[i][s]; !ok {
					return false
				}
			}
		}
		return true
	}
	if col.GenKnown {
		// Merge under the generation the op was applied in, which may be newer than the one it was
		// routed by (a hash-generation change delivered in between, or a view change that held the op).
		route = in.c.RouterAt(col.Gen)
	}
	if !answered(route) {
		return dht.AppendClusterDown(dst), false, nil
	}
	if len(watches) > 0 {
		for i := range cmds {
			for _, r := range parts[i] {
				if len(r) == 0 { // the guard failed: a watched key changed
					return append(dst, "*-1\r\n"...), false, nil
				}
			}
		}
	}
	if multi {
		dst = redcon.AppendArray(dst, len(cmds))
	}
	for i, cmd := range cmds {
		dst = route.MergeReply(dst, cmd, parts[i])
	}
	return dst, false, nil
}

// Tick expires keys of the local shard.
func (p *clusterPlane) Tick(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.cur().c.Tick(p.nowMs())
	return nil
}

// Stats returns the local shard's counters.
func (p *clusterPlane) Stats() shard.Stats { return p.cur().c.Stats() }

// Close stops the plane's goroutines and the group node.
func (p *clusterPlane) Close() error {
	p.cancel()
	p.wg.Wait() // a rejoin in progress ends first (it may install a new instance)
	err := p.cur().gn.Close()
	if errors.Is(err, group.ErrClosed) {
		err = nil
	}
	return errors.Join(err, p.closeDB())
}

// openDataDir opens the node's Badger database in dir and, in it, the membership replica's raft log and
// the SafeSend log. Badger's warnings and errors go to logf; its info lines are dropped.
func openDataDir(dir string, logf func(string, ...any)) (*wal.DB, *wal.RaftLog, *wal.SafeLog, error) {
	opts := wal.DefaultOptions()
	opts.Logf = func(format string, args ...any) {
		if strings.HasPrefix(format, "badger WARNING") || strings.HasPrefix(format, "badger ERROR") {
			logf(format, args...)
		}
	}
	db, err := wal.Open(dir, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server: data dir: %w", err)
	}
	rl, err := db.RaftLog("membership/")
	var sl *wal.SafeLog
	if err == nil {
		sl, err = db.SafeLog("safesend/")
	}
	if err != nil {
		_ = db.Close()
		return nil, nil, nil, fmt.Errorf("server: data dir: %w", err)
	}
	return db, rl, sl, nil
}

// closeDB closes the data directory's database, if any (after the group node that wrote to it).
func (p *clusterPlane) closeDB() error {
	if p.db == nil {
		return nil
	}
	return p.db.Close()
}
