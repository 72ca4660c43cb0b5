package sim

import (
	"fmt"
	"maps"
	"slices"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
)

/*
replica is one member's application: a dht.Cluster fed the member's events the way the server's group
driver feeds it (server/cluster.go, instance.Event):
  - a delivery is applied (Apply) and, for a query, answered with the replica's reply or a null reply;
  - a view install runs OnView; the transfers it returns are streamed point to point at once (the
    server's transferLoop: chunk after chunk, stopping at the first refused send), and a load that
    OnView completed from early chunks is announced with an ordered OpReady;
  - a point-to-point chunk goes to OnChunk; a finished load is announced with an ordered OpReady;
  - the vsync checkpoint is the replicated metadata (Meta/LoadMeta);
  - a stop makes the replica refuse local reads, and the client operations in flight here become
    indeterminate (the member will never report their outcome).

The client side lives here too: the queries this member originated (inflight, by query id) and their
completion (the server's run: every touched shard must have answered, then MergeReply; a strict write
then multicasts its commit notice with Send).
*/
type replica struct {
	d        *driver
	proc     string
	m        *vsync.Member
	c        *dht.Cluster
	metaBuf  []byte
	inflight map[uint64]*op // query id → client operation
	xfers    []dht.Transfer // shard transfers this member streams, a chunk a tick
	stopped  bool
	// commits are this member's acknowledged writes whose notice has not gone out: the next write op
	// carries them, or Tick multicasts them alone after commitIdleTicks (the server's commitNotices).
	commits    []uint64
	commitIdle int
	// LocalAck writes (the server's WriteAck "delivery"): acked holds this member's, by op id, until
	// its own delivery; owned collects the answers the Cluster hands over during an Apply.
	acked map[uint64]*op
	owned []ownAnswer
	// The ordered positions applied here (the server's group driver tracks them for the read index):
	// every position ≤ delPos of view delView, and all of earlier views.
	delView, delPos uint64
}

// ownAnswer is the answer of one of this member's LocalAck ops at its delivery here.
type ownAnswer struct {
	id      uint64
	reply   []byte
	applied bool
}

// readIndexReached is the server's read-index wait (server/group AwaitReadIndex), without the wait:
// this replica applied every ordered position it may have reported holding.
func (r *replica) readIndexReached() bool {
	v, p, ok := r.m.ReadIndex()
	return r.delView > v || (ok && r.delView == v && r.delPos >= p)
}

// commitIdleTicks is how long acknowledged-write notices wait for a write op to carry them.
const commitIdleTicks = 2

// takeCommits returns the waiting notices for a write op to carry.
func (r *replica) takeCommits() []uint64 {
	ids := r.commits
	r.commits, r.commitIdle = nil, 0
	return ids
}

// tickCommits multicasts the notices that waited commitIdleTicks.
func (r *replica) tickCommits() {
	if len(r.commits) == 0 || r.stopped {
		return
	}
	if r.commitIdle++; r.commitIdle < commitIdleTicks {
		return
	}
	c := dht.Op{Kind: dht.OpCommit, IDs: r.takeCommits()}
	_, _ = r.m.Send(c.Encode(nil))
}

func newReplica(d *driver, proc string, m *vsync.Member) *replica {
	c, err := dht.NewCluster(m.ID(), d.o.Params, shard.Config{EvictionPolicy: "noeviction", EvictionSamples: 5})
	if err != nil {
		panic(err) // the parameters were validated by Options.Validate
	}
	if d.o.Rehash {
		c.SetHashers(SimHashers)
	}
	r := &replica{d: d, proc: proc, m: m, c: c, inflight: map[uint64]*op{}, acked: map[uint64]*op{}}
	c.SetOwnAck(func(id uint64, reply []byte, applied bool) {
		r.owned = append(r.owned, ownAnswer{id: id, reply: reply, applied: applied})
	})
	return r
}

func (r *replica) Deliver(m *vsync.Member, d vsync.Delivery) {
	reply := r.c.Apply(d.Tag.Sender, d.Payload, d.Flavour != vsync.FlavourSend)
	if d.Pos != 0 && d.ViewID >= r.delView {
		r.delView, r.delPos = d.ViewID, d.Pos
	}
	if r.d.o.KeepHistory {
		r.noteRehash(d, reply)
	}
	owned := r.owned
	r.owned = nil
	for _, a := range owned {
		o := r.acked[a.id]
		if o == nil {
			continue
		}
		delete(r.acked, a.id)
		r.d.ownAnswered(r, m, o, a)
	}
	r.sendOutgoing(m)
	if d.QueryID == 0 {
		return
	}
	if reply != nil {
		_ = m.Reply(d.Tag.Sender, d.QueryID, reply)
	} else {
		_ = m.NullReply(d.Tag.Sender, d.QueryID)
	}
}

func (r *replica) View(m *vsync.Member, v vsync.View) {
	before, where := r.c.Layout(), r.d.placingOf(r)
	xs := r.c.OnView(v)
	r.delView, r.delPos = v.ID, 0 // the flush delivered everything of the earlier views
	r.d.noteView(r, before, r.c.Layout(), where)
	r.xfers = xs // the old view's transfers ended with it
	r.pumpTransfers()
	if s, ok := r.c.TakeLoadedAtView(); ok {
		r.ready(m, s)
	}
	r.sendOutgoing(m)
}

// sendOutgoing multicasts the hash-migration chunks the replica queued (the simulator runs no cut
// queries, so nothing else is queued).
func (r *replica) sendOutgoing(m *vsync.Member) {
	for _, o := range r.c.TakeOutgoing() {
		if o.Multicast {
			if _, err := m.OrderedSend(o.Payload); err != nil {
				r.c.MigrationUnsent()
			}
		}
	}
}

// pumpTransfers sends the next chunk of every transfer in progress: one a tick (and one at the view
// install), so that the donor applies ops between its chunks, as the server's transfer goroutine does
// (the chunks are cut from the live store, dht/export.go).
func (r *replica) pumpTransfers() {
	kept := r.xfers[:0]
	for _, x := range r.xfers {
		ch, last, ok := x.Next()
		if !ok {
			continue
		}
		if err := r.m.P2PSend(x.To, ch); err != nil {
			continue // the recipient left or the channel is full: the next view restarts the transfer
		}
		if !last {
			kept = append(kept, x)
		}
	}
	r.xfers = kept
}

// ready multicasts (ordered) that this member finished loading shard s.
func (r *replica) ready(m *vsync.Member, s int) {
	op := r.c.ReadyOp(s)
	_, _ = m.OrderedSend(op.Encode(nil))
}

func (r *replica) Checkpoint(*vsync.Member, vsync.View) vsync.CheckpointSource {
	return vsync.BytesCheckpoint(r.c.Meta())
}

func (r *replica) LoadChunk(_ *vsync.Member, seq uint64, chunk []byte, last bool) {
	if seq == 1 {
		r.metaBuf = r.metaBuf[:0]
	}
	r.metaBuf = append(r.metaBuf, chunk...)
	if last {
		if err := r.c.LoadMeta(r.metaBuf); err != nil {
			panic(err) // every member has the same parameters
		}
	}
}

func (r *replica) QueryDone(m *vsync.Member, q vsync.QueryResult) {
	o := r.inflight[q.ID]
	if o == nil {
		return
	}
	delete(r.inflight, q.ID)
	r.d.complete(r, m, o, q)
}

func (r *replica) P2P(m *vsync.Member, d vsync.Delivery) {
	o, err := dht.DecodeOp(d.Payload)
	if err == nil && o.Kind == dht.OpChunk && r.c.OnChunk(d.Tag.Sender, o) {
		r.ready(m, o.Shard)
	}
}

func (r *replica) Stopped(*vsync.Member, error) {
	r.stopped = true
	r.c.Stop()
	r.abandon()
}

// abandon makes every operation in flight here indeterminate (the member stopped or crashed): its
// queries and its LocalAck writes, in id order.
func (r *replica) abandon() {
	for _, waiting := range []map[uint64]*op{r.inflight, r.acked} {
		ids := slices.Sorted(maps.Keys(waiting))
		for _, id := range ids {
			r.d.finish(waiting[id], statusUnknown, nil)
		}
		clear(waiting)
	}
}

// localReadOK is the simulator's form of the server's local-read guard: the member is in a current,
// unwedged view, holds its lease (a member cut off from the membership service longer than its lease
// is isolated, and with Options.LeaseGuard the service removes a suspected member only after that), and
// reached its read index (where the server waits for it, a read here takes the ordered path instead).
func (r *replica) localReadOK() bool {
	if r.stopped || r.m.Stopped() || r.m.Isolated() || r.m.View().ID == 0 {
		return false
	}
	if r.d.o.StaleReads {
		return true
	}
	return !r.m.Wedged() && (r.d.o.NoReadIndex || r.readIndexReached())
}

// noteRehash adds a hash-generation cut or a migration chunk delivered here to the history.
func (r *replica) noteRehash(d vsync.Delivery, reply []byte) {
	o, err := dht.DecodeOp(d.Payload)
	if err != nil {
		return
	}
	var text string
	switch o.Kind {
	case dht.OpHashGen:
		text = fmt.Sprintf("%s delivers hash generation %d from %s: %q", r.m.ID(), o.ID, d.Tag.Sender, reply)
	case dht.OpMigrate:
		var keys []string
		for _, c := range o.Cmds {
			keys = append(keys, string(c[1]))
		}
		text = fmt.Sprintf("%s delivers generation %d chunk of shard %d slots %d.. from %s (keys %v); cursors now %v", r.m.ID(), o.ID, o.Shard, o.Seq, d.Tag.Sender, keys, r.c.MigrationCursors())
	default:
		return
	}
	r.d.events = append(r.d.events, event{tick: r.d.h.Now(), stamp: r.d.stamp, text: text})
}
