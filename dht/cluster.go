package dht

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/redcon"

	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

// ErrClusterDown is the text of the error for an operation on a shard with no ready replica, or in a
// group smaller than MinGroupSize.
const ErrClusterDown = "CLUSTERDOWN The cluster is down"

// ErrParamsMismatch refuses a member whose DHT parameters differ from the group's.
var ErrParamsMismatch = errors.New("dht: DHT parameters differ from the group's")

/*
Cluster is one member's replica of the clustered DHT: the replicated metadata (placement, which members
hold their shard's data, client addresses) and the member's shard of the data. The server's group driver
feeds it the member's events in order (OnView, Apply, LoadMeta/Meta for vsync's state transfer,
OnChunk for shard transfer); client goroutines call ReadLocal. One mutex guards everything.

Invariants:
  - Replicated state (placement, ready, addrs, the data of a shard at its ready replicas) changes only in
    OnView and Apply, which every member runs for the same events in the same order, so every member
    computes the same placement and readiness, and the replicas of a shard hold the same data.
  - A member serves its shard (answers ops, local reads) only while loaded: it holds the shard's data as
    of everything delivered so far. A member that takes a new shard (a joiner, or the tail spare that took
    a departed member's position) is not loaded: at the view's install (a consistent cut: nothing of the
    new view delivered anywhere) the donor, the first ready replica of the shard, exports the shard's
    slice, and streams it point to point; the recipient loads it, applies the shard's ops it buffered since
    the cut, and is loaded. It then multicasts OpReady, and when that is delivered every member marks it
    ready (a possible donor). A view change during the transfer restarts it at the new cut.
  - An op whose shards include one without a ready replica, or in a view smaller than MinGroupSize, is
    applied nowhere (every member decides the same), and the originator answers CLUSTERDOWN.
  - pending counts, per key, writes applied here and not yet known to be acknowledged (applied by every
    replica): a local read of such a key is refused (the reader goes through the total order instead),
    so no reader sees a write that another replica may not have applied. A view install clears it: the
    flush delivered every message of the old view at every survivor. A LocalAck write marks nothing:
    its originator acknowledges it at its own delivery, and readers wait for the read index instead
    (SetOwnAck says why both are safe).
  - A LocalAck write is applied only if its originator is a ready replica of every shard it touches at
    the op's point of the order (servesAll, replicated state): else nowhere, and the originator is told
    (applied false), so sending it again cannot apply it twice.
*/
type Cluster struct {
	mu       sync.Mutex
	params   Params
	ns       int
	self     string
	storeCfg shard.Config // for the empty store a member starts a new shard with
	st       *shard.Store

	view      vsync.View
	placement []string
	ready     map[string]bool   // replicated: the member holds its shard's data
	addrs     map[string]string // replicated: client-facing address per member

	myShard int
	loaded  bool
	load    *loadState
	early   []earlyChunk // chunks of a view this member has not installed yet
	// loadedAtView: OnView finished this member's load from early chunks (TakeLoadedAtView).
	loadedAtView bool
	stopped      bool

	// Hash generations (rehash.go): routeNow is the replicated router (it changes at an OpHashGen,
	// under mu; Router reads it without the lock), mig is the replicated state of a migration in
	// progress, outbox this member's moved keys while it holds them, sentCursor the cursor it last sent
	// a chunk at (per source, this view), faultNow why the member stopped (Fault).
	hashers    Hashers
	routeNow   atomic.Pointer[Router]
	mig        *migration
	outbox     *shard.Store
	sentCursor []int
	faultNow   atomic.Pointer[error]

	pending    map[string]int
	pendingOps map[opRef][]string
	ownAck     func(id uint64, reply []byte, applied bool) // SetOwnAck
	stamps     writeStamps                                 // WATCH versions (watch.go)

	// Tree combining of cut queries (tree.go).
	rounds     map[roundKey]*round
	roundSeq   uint64
	earlyParts []earlyPartial
	outgoing   []Outgoing
	exports    []*exportState // shard transfers this member streams (export.go)
	// hasOutgoing is set with outgoing (under mu) and read without it, so that the driver's drain
	// after every event costs no lock when there is nothing to send.
	hasOutgoing atomic.Bool
}

type opRef struct {
	sender string
	id     uint64
}

// earlyChunk is a transfer chunk that arrived before its view was installed here: a donor sends as soon
// as it installs the view, and point-to-point messages do not wait for the recipient's install.
type earlyChunk struct {
	from string
	op   Op
}

// maxEarlyChunks bounds the chunks kept for a view not installed yet (a donor sends a whole shard, so
// this bounds memory at maxEarlyChunks*ChunkBytes; later ones are dropped and the transfer restarts at
// the next view).
const maxEarlyChunks = 256

type loadState struct {
	view     uint64
	donor    string
	shard    int
	nextSeq  uint64
	buffered []bufferedOp
	// committed: buffered writes whose commit notice arrived during the load (their keys are not
	// pending once applied).
	committed map[opRef]bool
	refs      map[opRef]bool // the buffered writes
}

// buffer keeps a write delivered during the load.
func (l *loadState) buffer(b bufferedOp) {
	l.buffered = append(l.buffered, b)
	if l.refs == nil {
		l.refs = map[opRef]bool{}
	}
	l.refs[opRef{b.sender, b.op.ID}] = true
}

// bufferedOp is a write of the shard delivered while the member loads it, with its sender and its
// guards' outcome (decided at delivery, from that moment's stamps).
type bufferedOp struct {
	op      Op
	sender  string
	aborted []bool
}

// Transfer is a shard slice this member must stream to a recipient (OnView's result): Next cuts its
// chunks, in order, each an encoded OpChunk (export.go).
type Transfer struct {
	To string
	c  *Cluster
	x  *exportState
}

// ChunkBytes bounds the commands one transfer chunk carries (it may exceed it by one key's commands).
const ChunkBytes = 256 << 10

// NewCluster returns the replica of member self with empty data.
func NewCluster(self string, p Params, store shard.Config) (*Cluster, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := store.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	c := &Cluster{params: p, ns: p.Shards(), self: self, storeCfg: store, st: shard.NewStore(store), myShard: -1,
		ready: map[string]bool{}, addrs: map[string]string{}, pending: map[string]int{}, pendingOps: map[opRef][]string{},
		rounds: map[roundKey]*round{}}
	c.setRoute(DefaultRouter(p.Shards()))
	return c, nil
}

// Params returns the DHT parameters.
func (c *Cluster) Params() Params { return c.params }

// meta is the replicated metadata a joiner receives through vsync's state transfer.
type meta struct {
	Params    Params
	Placement []string
	Ready     []string
	Addrs     map[string]string
	HashGen   uint64     `json:",omitempty"`
	Migration *migration `json:",omitempty"`
}

// Meta returns the replicated metadata (the vsync checkpoint of the group: data moves separately).
func (c *Cluster) Meta() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := meta{Params: c.params, Placement: c.placement, Addrs: c.addrs, HashGen: c.Router().Gen, Migration: c.mig}
	for _, p := range c.placement {
		if p != "" && c.ready[p] {
			m.Ready = append(m.Ready, p)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("dht: encoding metadata: %v", err))
	}
	return b
}

// LoadMeta installs the metadata of a checkpoint (a joiner, before its first view). It refuses other
// DHT parameters.
func (c *Cluster) LoadMeta(b []byte) error {
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%w: metadata: %w", ErrBadOp, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Params != c.params {
		return c.faulted(fmt.Errorf("%w: group has %+v, this member %+v", ErrParamsMismatch, m.Params, c.params))
	}
	h := c.hasherOf(m.HashGen)
	if m.HashGen != 0 && h == nil {
		return c.faulted(fmt.Errorf("%w: the group uses hash generation %d, which this member does not know", ErrParamsMismatch, m.HashGen))
	}
	c.setRoute(NewRouter(c.ns, m.HashGen, h))
	c.mig = m.Migration
	c.placement = m.Placement
	c.ready = map[string]bool{}
	for _, r := range m.Ready {
		c.ready[r] = true
	}
	c.addrs = m.Addrs
	if c.addrs == nil {
		c.addrs = map[string]string{}
	}
	return nil
}

// OnView installs view v: the next placement, readiness, and the shard transfers of this view. It
// returns the transfers this member must send (as donor).
func (c *Cluster) OnView(v vsync.View) []Transfer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faultNow.Load() != nil {
		return nil // this member cannot follow the group (Fault): it takes part in nothing
	}
	first := c.view.ID == 0 && len(c.placement) == 0
	restart := c.view.ID != 0 && !slices.ContainsFunc(v.Members, func(m string) bool { return slices.Contains(c.view.Members, m) })
	prevShard := make(map[string]int, len(c.placement))
	for i, m := range c.placement {
		if m != "" {
			prevShard[m] = i % c.ns
		}
	}
	c.view = vsync.View{ID: v.ID, Members: slices.Clone(v.Members)}
	if restart {
		c.placement, c.ready = nil, map[string]bool{}
	}
	heldShard := -1 // the shard whose data this member holds as a ready replica
	if s, ok := prevShard[c.self]; ok && c.ready[c.self] {
		heldShard = s
	}
	staying := make(map[string]bool, len(v.Members))
	for _, m := range v.Members {
		staying[m] = true
	}
	prevPlacement := c.placement
	// pinned: m is the last ready replica (among the members that stay) of its shard.
	pinned := func(m string) bool {
		if !c.ready[m] {
			return false
		}
		for _, o := range ReplicasOf(prevPlacement, prevShard[m], c.ns) {
			if o != m && staying[o] && c.ready[o] {
				return false
			}
		}
		return true
	}
	c.placement = NextPlacement(c.placement, v.Members, pinned)
	for m := range c.addrs {
		if !slices.Contains(v.Members, m) {
			delete(c.addrs, m)
		}
	}
	// Readiness: a member that left or changed shard is not ready.
	for m := range c.ready {
		if s, ok := prevShard[m]; !ok || ShardOfMember(c.placement, m, c.ns) != s {
			delete(c.ready, m)
		}
	}
	clear(c.pending)
	clear(c.pendingOps)
	c.stamps.reset()
	c.endRounds()
	// The founders of a group (or of a restart) hold their (empty) shards; a shard that no ready
	// member holds any more lost its data: its members start it empty.
	for s := 0; s < c.ns; s++ {
		reps := ReplicasOf(c.placement, s, c.ns)
		if first || restart || !slices.ContainsFunc(reps, func(m string) bool { return c.ready[m] }) {
			for _, m := range reps {
				c.ready[m] = true
			}
		}
	}
	var out []Transfer
	// The member keeps its store only while it stays a ready replica of the same shard. Otherwise it
	// starts empty: loading (not ready), or ready without a load because the shard lost every ready
	// replica and all its members start it empty. (Keeping the store there kept the keys of the
	// member's previous shard, or a load finished before its OpReady was delivered, in a shard that
	// the other replicas start empty: replicas diverged.)
	myShard := ShardOfMember(c.placement, c.self, c.ns)
	if myShard != heldShard || !c.ready[c.self] {
		c.myShard = myShard
		c.loaded = c.ready[c.self]
		c.st.Discard() // its values in the configured ValueStore go too
		c.st = shard.NewStore(c.storeCfg)
	}
	c.load = nil
	c.exports = nil // a new cut: transfers restart
	if !c.loaded && c.myShard >= 0 {
		c.load = &loadState{view: v.ID, donor: c.donorOf(c.myShard), shard: c.myShard, nextSeq: 1}
	}
	early := c.early
	c.early = nil
	for _, e := range early {
		if e.op.ID == v.ID {
			if c.onChunk(e.from, e.op) {
				c.loadedAtView = true
			}
		} else if e.op.ID > v.ID {
			c.early = append(c.early, e)
		}
	}
	c.migrationOnView()
	// Transfers this member donates.
	for _, m := range c.placement {
		if m == "" || c.ready[m] || m == c.self {
			continue
		}
		s := ShardOfMember(c.placement, m, c.ns)
		if c.donorOf(s) == c.self && c.loaded {
			out = append(out, c.startExport(m, s, v.ID))
		}
	}
	return out
}

// donorOf is the first ready replica of shard s.
func (c *Cluster) donorOf(s int) string {
	for _, m := range ReplicasOf(c.placement, s, c.ns) {
		if c.ready[m] {
			return m
		}
	}
	return ""
}

// OnChunk loads one chunk of this member's shard transfer (point to point from the donor). It reports
// whether the load finished: the caller then multicasts an OpReady for this member.
func (c *Cluster) OnChunk(from string, op Op) (done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faultNow.Load() != nil {
		return false
	}
	if op.Kind == OpChunk && op.ID > c.view.ID {
		if len(c.early) < maxEarlyChunks {
			op.Cmds = cloneCmds(op.Cmds)
			c.early = append(c.early, earlyChunk{from: from, op: op})
		}
		return false
	}
	return c.onChunk(from, op)
}

func (c *Cluster) onChunk(from string, op Op) (done bool) {
	l := c.load
	if l == nil || op.Kind != OpChunk || from != l.donor || op.ID != l.view || op.Shard != l.shard || op.Seq != l.nextSeq {
		return false
	}
	for _, cmd := range op.Cmds {
		c.st.Exec(nil, cmd, shard.ImportNowMs)
	}
	l.nextSeq++
	if !op.Last {
		return false
	}
	// The buffered writes may not be acknowledged yet (the other replicas apply them at their own
	// pace): their keys are pending, as at a replica that applied them on delivery, unless the commit
	// notice already came.
	for _, b := range l.buffered {
		sender := b.sender
		if l.committed[opRef{b.sender, b.op.ID}] {
			sender = ""
		}
		c.applyMine(b.op, sender, nil, b.aborted)
	}
	c.load, c.loaded = nil, true
	return true
}

// ReadyOp returns the OpReady this member multicasts (ordered) when its load of shard s finished
// (OnChunk reported done, or TakeLoadedAtView): it carries the current view, so that a notice delivered
// after a view change, which restarted the load at the new cut, is ignored everywhere. Without it a
// member could be marked ready (a donor) while it reloads an empty store.
func (c *Cluster) ReadyOp(s int) Op {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Op{Kind: OpReady, ID: c.view.ID, Addr: c.self, Shard: s}
}

// TakeLoadedAtView reports (once) whether the last OnView completed this member's shard load from
// chunks that had arrived before the view: the caller then multicasts OpReady, as after OnChunk.
func (c *Cluster) TakeLoadedAtView() (shard int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok, c.loadedAtView = c.loadedAtView, false
	return c.myShard, ok
}

// Stop makes the replica refuse local reads (its member stopped: it may no longer be in the view) and
// drops its data (and so its values in the store configuration's ValueStore).
func (c *Cluster) Stop() {
	c.mu.Lock()
	c.stopped = true
	c.exports = nil
	c.st.Discard() // a stopped member's data is never served again; free its ValueStore values
	c.mu.Unlock()
}

// Self returns the member id this replica was created with.
func (c *Cluster) Self() string { return c.self }

// Commit releases, at this replica, the keys written by sender's ops ids: the originator learned that
// every replica applied them (it calls this for its own ops as soon as they are acknowledged; the
// other replicas learn it from an OpCommit or from ids piggybacked on a later op of the originator).
// Unknown ids are ignored.
func (c *Cluster) Commit(sender string, ids ...uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release(sender, ids)
}

// release is Commit with c.mu held.
func (c *Cluster) release(sender string, ids []uint64) {
	for _, id := range ids {
		ref := opRef{sender, id}
		if c.load != nil && c.load.refs[ref] {
			if c.load.committed == nil {
				c.load.committed = map[opRef]bool{}
			}
			c.load.committed[ref] = true
		}
		for _, k := range c.pendingOps[ref] {
			if c.pending[k]--; c.pending[k] <= 0 {
				delete(c.pending, k)
			}
		}
		delete(c.pendingOps, ref)
	}
}

// Apply applies one delivered op from sender and returns this member's answer (nil: no answer; the
// driver sends a null reply for a query). ordered says whether it came in the total order (an
// OrderedSend or OrderedQuery); an aggregation query that did not runs in local mode. A driver that
// runs cut queries uses ApplyDelivery, which can defer a query's answer.
func (c *Cluster) Apply(sender string, payload []byte, ordered bool) []byte {
	reply, _ := c.ApplyDelivery(sender, payload, ordered, 0)
	return reply
}

// ApplyDelivery is Apply for a delivery that is vsync query queryID (0 if it is not a query). With
// deferred, the answer is not ready (a cut query's combining tree waits for children): the driver
// must not answer now; the answer comes later as an Outgoing with Reply set (TakeOutgoing), which the
// driver must drain after every ApplyDelivery, OnView and OnPartial.
func (c *Cluster) ApplyDelivery(sender string, payload []byte, ordered bool, queryID uint64) (reply []byte, deferred bool) {
	op, err := DecodeOp(payload)
	if err != nil || c.faultNow.Load() != nil {
		return nil, false // not an op of this layer (ignored at every member alike), or a faulted member
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch op.Kind {
	case OpAnnounce:
		if slices.Contains(c.view.Members, sender) {
			c.addrs[sender] = op.Addr
		}
	case OpReady:
		// ID, when set, is the view whose cut the load started from: a notice delivered in a later view
		// is stale (that view change restarted the member's load, see ReadyOp).
		if op.ID != 0 && op.ID != c.view.ID {
			return nil, false
		}
		if ShardOfMember(c.placement, op.Addr, c.ns) == op.Shard {
			c.ready[op.Addr] = true
		}
	case OpCommit:
		c.release(sender, op.IDs)
	case OpHashGen:
		return c.applyHashGen(op), false
	case OpMigrate:
		c.applyMigrate(op)
	case OpQuery:
		return c.applyQuery(op, sender, !ordered, queryID)
	case OpWrite, OpRead:
		c.release(sender, op.IDs) // commit notices of sender's earlier ops, piggybacked
		if !op.LocalAck || op.Kind != OpWrite {
			return c.applyData(op, sender), false
		}
		if !c.servesAll(sender, op.Cmds) {
			c.ackOwn(sender, op.ID, nil, false) // applied nowhere: every member decides the same
			return nil, false
		}
		reply := c.applyData(op, "") // "": no pending marks (local reads wait for the read index)
		c.ackOwn(sender, op.ID, reply, true)
		return nil, false
	}
	return nil, false
}

// applyData applies an OpWrite or OpRead at this member and returns its answer (nil: none). With
// sender set, a write's keys stay pending here until sender's commit notice.
func (c *Cluster) applyData(op Op, sender string) []byte {
	aborted := c.guardAndStamp(op)
	if !c.servable(op.Cmds) {
		return nil
	}
	if c.myShard < 0 {
		return nil
	}
	if c.mig != nil {
		if !c.loaded {
			return nil
		}
		return c.migratingReply(op)
	}
	if !c.loaded {
		if op.Kind == OpWrite && c.load != nil {
			op.Cmds = cloneCmds(op.Cmds)
			op.Guards = nil // decided: aborted
			c.load.buffer(bufferedOp{op: op, sender: sender, aborted: aborted})
		}
		return nil
	}
	return c.applyMine(op, sender, &ShardReply{Shard: c.myShard, Gen: c.Router().Gen}, aborted)
}

// servesAll reports whether member m is a ready replica of every shard cmds touch (replicated state:
// the same answer at every member).
func (c *Cluster) servesAll(m string, cmds [][][]byte) bool {
	if !c.ready[m] {
		return false
	}
	mine := ShardOfMember(c.placement, m, c.ns)
	if mine < 0 {
		return false
	}
	for _, cmd := range cmds {
		for _, s := range c.Router().ShardsOf(cmd) {
			if s != mine {
				return false
			}
		}
	}
	return true
}

// CanAckLocally reports whether this member, now, is a loaded, ready replica of every shard cmds touch:
// a LocalAck op of them will very likely be applied (the check is repeated, replicated, at delivery).
func (c *Cluster) CanAckLocally(cmds [][][]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded && c.faultNow.Load() == nil && c.servesAll(c.self, cmds)
}

// ackOwn hands the answer of this member's own LocalAck op to the SetOwnAck callback.
func (c *Cluster) ackOwn(sender string, id uint64, reply []byte, applied bool) {
	if sender == c.self && c.ownAck != nil {
		c.ownAck(id, reply, applied)
	}
}

/*
SetOwnAck sets the callback that receives, at this member's delivery of each of its own OpWrite ops
with LocalAck, the op's answer at this replica (reply, as a ShardReply; nil if this replica did not
answer, e.g. CLUSTERDOWN or a failed guard's aborted parts are inside it) and applied (false: the op
was applied nowhere, because this member was not a ready replica of every shard it touches at that
point of the order; the caller may send it again another way). It runs on the driver goroutine with
the Cluster's lock held: it must not block or call the Cluster.

Why acknowledging there is safe: vsync delivers an ordered position (outside a flush) only after every
member of the view reported holding its record and payload, so once the originator delivered the op,
every survivor of any failure delivers it too (at the same position, or by the flush decision), and
every replica of the shard applies it. And a replica's local read waits for the read index
(server/group AwaitReadIndex), which covers every position any member delivered before the read began.
*/
func (c *Cluster) SetOwnAck(f func(id uint64, reply []byte, applied bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ownAck = f
}

// applyQuery answers an aggregation query. Ordered (cut): this member's part in the query's combining
// tree (tree.go): only the representative of each shard the query reaches evaluates, and the partials
// travel up the tree to the originator. Local: every loaded replica answers its shard's partial from
// its current state (the originator keeps one answer per shard).
func (c *Cluster) applyQuery(op Op, sender string, local bool, queryID uint64) ([]byte, bool) {
	q, ok := decodeQuery(op)
	if !ok || c.myShard < 0 || !c.loaded || c.mig != nil || !slices.Contains(c.Router().ShardsOfQuery(q), c.myShard) {
		return nil, false
	}
	if !local {
		return c.combineQuery(op, q, sender, queryID)
	}
	gs, truncated := EvalShard(c.st, q, c.myShard, c.Router(), op.NowMs)
	p := Partial{Shards: []int{c.myShard}, Truncated: truncated, Groups: gs}
	return p.Encode(nil), false
}

// servable reports whether every shard the commands touch has a ready replica and the view is big
// enough (the same answer at every member).
func (c *Cluster) servable(cmds [][][]byte) bool {
	if len(c.view.Members) < c.params.MinGroupSize {
		return false
	}
	for _, cmd := range cmds {
		for _, s := range c.Router().ShardsOf(cmd) {
			if c.donorOf(s) == "" {
				return false
			}
		}
	}
	return true
}

// applyMine executes this shard's parts of op; with reply non-nil it records the parts and, for a write
// from sender, the keys pending until the originator's commit. A command whose guard failed (aborted[i])
// is not executed; its part is answered with an empty reply.
func (c *Cluster) applyMine(op Op, sender string, reply *ShardReply, aborted []bool) []byte {
	var written []string
	for i, cmd := range op.Cmds {
		part := c.Router().PartFor(cmd, c.myShard)
		if part == nil {
			continue
		}
		if aborted != nil && aborted[i] {
			if reply != nil {
				reply.Parts = append(reply.Parts, Part{Index: i})
			}
			continue
		}
		var out []byte
		switch {
		case bytes.EqualFold(part[0], []byte("scan")):
			out = c.scan(part, op.NowMs)
		case IsSlotCommand(part) && c.Router().Custom():
			out = fmt.Appendf(nil, "-%s\r\n", ErrSlotsCustomHasher)
		case IsSlotCommand(part):
			out = execSlotCommand(c.st, nil, part, op.NowMs)
		default:
			c.preserve(part)
			out = c.st.Exec(nil, part, op.NowMs)
		}
		if reply != nil {
			reply.Parts = append(reply.Parts, Part{Index: i, Reply: out})
		}
		if op.Kind == OpWrite && sender != "" && c.st.IsWrite(part[0]) {
			for _, k := range Keys(part) {
				written = append(written, string(part[k]))
			}
		}
	}
	if len(written) > 0 {
		ref := opRef{sender, op.ID}
		c.pendingOps[ref] = append(c.pendingOps[ref], written...)
		for _, k := range written {
			c.pending[k]++
		}
	}
	if reply == nil || len(reply.Parts) == 0 {
		return nil
	}
	return reply.Encode(nil)
}

// scan answers this shard's part of a cluster SCAN: the store's error for bad arguments, else, for
// cursor 0, every matching key at once (ScanPart), and for any other cursor an empty, finished scan (a
// cluster SCAN always finishes in its first call).
func (c *Cluster) scan(args [][]byte, nowMs int64) []byte {
	out := c.st.Exec(nil, args, nowMs)
	if len(out) > 0 && out[0] == '-' {
		return out
	}
	if string(args[1]) != "0" {
		return []byte("*2\r\n$1\r\n0\r\n*0\r\n")
	}
	return c.st.Exec(nil, ScanPart(args), nowMs)
}

func cloneCmds(cmds [][][]byte) [][][]byte {
	out := make([][][]byte, len(cmds))
	for i, c := range cmds {
		out[i] = cloneArgs(c)
	}
	return out
}

// ReadLocal runs read commands against this replica when that is linearizable: the member is loaded and
// in the view, every key is in its shard, and none has a write not yet acknowledged. It appends the
// replies (one per command) to dst and reports whether it did.
func (c *Cluster) ReadLocal(dst []byte, cmds [][][]byte, nowMs int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || !c.loaded || c.mig != nil || c.myShard < 0 || len(c.view.Members) < c.params.MinGroupSize {
		return dst, false
	}
	for _, cmd := range cmds {
		if IsKeyless(cmd[0]) || c.st.IsWrite(cmd[0]) {
			return dst, false
		}
		keys := Keys(cmd)
		if len(keys) == 0 {
			return dst, false
		}
		for _, k := range keys {
			if c.Router().ShardOfKey(cmd[k]) != c.myShard || c.pending[string(cmd[k])] > 0 {
				return dst, false
			}
		}
	}
	for _, cmd := range cmds {
		dst = c.st.Exec(dst, cmd, nowMs)
	}
	return dst, true
}

// Redirect reports, for -MOVED mode, where a command whose keys all belong to one shard that this member
// does not serve should go: the slot of its first key and the client address of that shard's first
// ready replica (the "master" CLUSTER SLOTS shows). ok is false when this member is a loaded replica of
// the shard, the command is keyless or spans shards, or no ready replica has announced an address.
func (c *Cluster) Redirect(cmd [][]byte) (slot uint16, addr string, ok bool) {
	if len(cmd) == 0 || IsKeyless(cmd[0]) {
		return 0, "", false
	}
	keys := Keys(cmd)
	if len(keys) == 0 {
		return 0, "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Router().Custom() || c.mig != nil {
		return 0, "", false // cluster clients route by CRC16 slots: the node forwards instead
	}
	shards := c.Router().ShardsOf(cmd)
	if len(shards) != 1 {
		return 0, "", false
	}
	if shards[0] == c.myShard && c.loaded {
		return 0, "", false
	}
	for _, m := range ReplicasOf(c.placement, shards[0], c.ns) {
		if c.ready[m] && c.addrs[m] != "" {
			return shard.KeySlot(cmd[keys[0]]), c.addrs[m], true
		}
	}
	return 0, "", false
}

// Layout is a snapshot of the layout for CLUSTER commands.
type Layout struct {
	Shards    int
	Placement []string          // member per position ("" for a position left empty, see NextPlacement)
	Ready     map[string]bool   // members holding their shard's data
	Addrs     map[string]string // client-facing addresses
	Self      string
	ViewID    uint64
	MyShard   int  // this member's shard (-1: none)
	Loaded    bool // this member holds its shard's data (serves it)
}

// String is a one-line summary for logs: the view, each position's member with "*" when ready, and
// this member's shard and state.
func (l Layout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "view %d self %s shard %d loaded %v placement [", l.ViewID, l.Self, l.MyShard, l.Loaded)
	for i, m := range l.Placement {
		if i > 0 {
			b.WriteByte(' ')
		}
		if m == "" {
			m = "-"
		}
		b.WriteString(m)
		if l.Ready[m] {
			b.WriteByte('*')
		}
	}
	b.WriteByte(']')
	return b.String()
}

// Layout returns the current layout.
func (c *Cluster) Layout() Layout {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := Layout{Shards: c.ns, Placement: slices.Clone(c.placement), Ready: map[string]bool{}, Addrs: map[string]string{},
		Self: c.self, ViewID: c.view.ID, MyShard: c.myShard, Loaded: c.loaded}
	for k, v := range c.ready {
		l.Ready[k] = v
	}
	for k, v := range c.addrs {
		l.Addrs[k] = v
	}
	return l
}

// Stats returns the local store's counters (this member's shard).
func (c *Cluster) Stats() shard.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Stats()
}

// Digest returns the digest of this member's shard data at nowMs and its shard (-1: none or loading).
func (c *Cluster) Digest(nowMs int64) (uint64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		return 0, -1
	}
	return c.st.Digest(nowMs), c.myShard
}

// Tick runs one bounded active-expire cycle on the local shard. Expiry never changes what a read
// answers (the store treats a key past its deadline as absent at the op's time), so replicas may
// reclaim expired keys at different moments.
func (c *Cluster) Tick(nowMs int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.ActiveExpire(nowMs, TickExpireKeys)
}

// AppendClusterDown appends the CLUSTERDOWN error.
func AppendClusterDown(dst []byte) []byte { return redcon.AppendError(dst, ErrClusterDown) }
