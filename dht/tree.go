package dht

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/vsdb/vsdb/aggregate"
)

/*
Tree combining of a cut query's partial results.

Every member delivers a cut query (OpQuery, ordered) at the same point of the total order, so every
member computes the same plan from replicated state only: the shards the selection reaches (in shard
order) whose representative exists (rotating with the query id among the shard's ready replicas), and
the query's fan-out F. Position 0 is the originator (the root); position i ≥ 1 is the representative of
the i-th planned shard. The parent of position i is (i-1)/F, its children F·i+1 … F·i+F: the tree is a
pure function of the participants and their ranks.

A representative evaluates its shard at the query's point of the order, then waits for the partials of
its children (point-to-point OpPartial messages, which may arrive before it delivered the query
itself: they are held, bounded, until it does), merges them into its own, and sends the result up: to
its parent as an OpPartial, or, when its parent is the root, as its reply to the originator's query. A
representative that is not a child of the root answers the query with null at once.

Invariants:
  - every partial lists the shards it covers; a merge only combines partials with disjoint shard sets
    (a partial that would overlap is dropped and the round reported incomplete), so each shard's
    partial is combined at most once, and the originator accepts an answer only if the root's children
    cover every planned shard exactly once (else it retries the round);
  - a round waiting for a child ends, incomplete, when the view changes: it sends up what it has, and
    the originator, missing shards, retries in the new view. Within a view every planned child
    evaluates (it is ready, so loaded) and point-to-point messages are reliable, so a round only waits
    on a child that is alive or on a view change; the originator's own deadline bounds the client's
    wait. Nothing waits forever and nothing is combined twice;
  - rounds and held early partials are bounded (maxRounds, maxEarlyPartials): past the bound the
    oldest round is ended incomplete, and the oldest held partial is dropped (a partial of a round that
    a view change ended, say; if it was not, its originator retries).
*/

// DefaultQueryFanout is the combining tree's fan-out when a query names none.
const DefaultQueryFanout = 2

// Bounds of the combining state of one replica.
const (
	maxRounds        = 1024
	maxEarlyPartials = 4096
)

// treePlan is the combining tree of one cut query.
type treePlan struct {
	fanout int
	shards []int    // position i ≥ 1 ↔ shards[i-1]
	reps   []string // position i ≥ 1 ↔ reps[i-1]
}

func (t treePlan) parent(pos int) int { return (pos - 1) / t.fanout }

// children returns the positions of pos's children.
func (t treePlan) children(pos int) []int {
	var out []int
	for c := t.fanout*pos + 1; c <= t.fanout*pos+t.fanout && c <= len(t.reps); c++ {
		out = append(out, c)
	}
	return out
}

// position returns member's position in the plan (0 if it has none).
func (t treePlan) position(member string) int {
	if i := slices.Index(t.reps, member); i >= 0 {
		return i + 1
	}
	return 0
}

// planQuery returns the combining tree of query op over shards need (same answer at every member at
// the same point of the order).
func (c *Cluster) planQuery(op Op, need []int) treePlan {
	t := treePlan{fanout: op.Shard}
	if t.fanout < 1 {
		t.fanout = DefaultQueryFanout
	}
	for _, s := range need {
		var ready []string
		for _, m := range ReplicasOf(c.placement, s, c.ns) {
			if c.ready[m] {
				ready = append(ready, m)
			}
		}
		if len(ready) == 0 {
			continue // the shard is missing from every answer: the originator retries
		}
		t.shards = append(t.shards, s)
		t.reps = append(t.reps, ready[op.ID%uint64(len(ready))])
	}
	return t
}

// Partial is a combined partial answer: the shards it covers, whether MaxGroups cut some group off,
// and the groups.
type Partial struct {
	Shards    []int
	Truncated bool
	Groups    *aggregate.Groups
}

// Encode appends the binary form: a flag byte (1 = truncated), the shard count and shards (uvarints),
// then aggregate.Groups.Encode.
func (p *Partial) Encode(dst []byte) []byte {
	flag := byte(0)
	if p.Truncated {
		flag = 1
	}
	dst = append(dst, flag)
	dst = binary.AppendUvarint(dst, uint64(len(p.Shards)))
	for _, s := range p.Shards {
		dst = binary.AppendUvarint(dst, uint64(s))
	}
	return p.Groups.Encode(dst)
}

// DecodePartial decodes a partial answer of q.
func DecodePartial(q *aggregate.Query, b []byte) (*Partial, error) {
	if len(b) == 0 || b[0] > 1 {
		return nil, aggregate.ErrBadPartial
	}
	p := &Partial{Truncated: b[0] == 1}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxShardsInPartial {
		return nil, aggregate.ErrBadPartial
	}
	b = b[k:]
	for i := uint64(0); i < n; i++ {
		s, k := binary.Uvarint(b)
		if k <= 0 || s >= maxShardsInPartial {
			return nil, aggregate.ErrBadPartial
		}
		p.Shards = append(p.Shards, int(s))
		b = b[k:]
	}
	gs, err := aggregate.DecodeGroups(q.Aggregates, b)
	if err != nil {
		return nil, err
	}
	p.Groups = gs
	return p, nil
}

// maxShardsInPartial bounds the decoder (a layout has at most one shard per member).
const maxShardsInPartial = 1 << 16

// merge adds o into p if their shard sets are disjoint (else nothing: no shard is combined twice).
func (p *Partial) merge(o *Partial) {
	for _, s := range o.Shards {
		if slices.Contains(p.Shards, s) {
			return
		}
	}
	p.Shards = append(p.Shards, o.Shards...)
	p.Truncated = p.Truncated || o.Truncated
	p.Groups.Merge(o.Groups)
}

// Outgoing is a message the driver must send for the replica after ApplyDelivery, OnView or OnPartial:
// a point-to-point op to member To, (Reply) the deferred answer to query QueryID of member To, or
// (Multicast) an ordered multicast.
type Outgoing struct {
	To    string
	Reply bool
	// Multicast: Payload is an op to multicast in the total order (OrderedSend), a hash migration's
	// chunk (rehash.go); if it cannot be sent, the driver calls MigrationUnsent.
	Multicast bool
	QueryID   uint64 // the vsync query id (Reply only)
	Payload   []byte
}

// round is this member's part in one query's combining tree while it waits for its children.
type round struct {
	key     roundKey
	q       *aggregate.Query
	acc     *Partial
	waiting int    // children not heard from
	parent  string // the parent member ("" when the parent is the root)
	queryID uint64 // the vsync query to answer (when the parent is the root)
	seq     uint64 // age, for the bound
}

// roundKey names a query: its originator and op id.
type roundKey struct {
	origin string
	id     uint64
}

// earlyPartial is a child's partial that arrived before this member delivered the query.
type earlyPartial struct {
	key     roundKey
	payload []byte
}

// combineQuery runs this member's part of cut query op from sender (vsync query queryID). It returns
// the reply to give now (nil: a null reply) and whether the reply is deferred instead (it will come
// through TakeOutgoing once the children answered). Caller holds c.mu.
func (c *Cluster) combineQuery(op Op, q *aggregate.Query, sender string, queryID uint64) (reply []byte, deferred bool) {
	t := c.planQuery(op, c.Router().ShardsOfQuery(q))
	pos := t.position(c.self)
	if pos == 0 || t.shards[pos-1] != c.myShard {
		return nil, false
	}
	gs, truncated := EvalShard(c.st, q, c.myShard, c.Router(), op.NowMs)
	r := &round{key: roundKey{sender, op.ID}, q: q, acc: &Partial{Shards: []int{c.myShard}, Truncated: truncated, Groups: gs},
		waiting: len(t.children(pos)), queryID: queryID}
	if pp := t.parent(pos); pp > 0 {
		r.parent = t.reps[pp-1]
	}
	// Children that answered before this member delivered the query.
	kept := c.earlyParts[:0]
	for _, e := range c.earlyParts {
		if e.key == r.key {
			c.absorb(r, e.payload)
		} else {
			kept = append(kept, e)
		}
	}
	clear(c.earlyParts[len(kept):])
	c.earlyParts = kept
	if r.waiting <= 0 {
		if r.parent == "" {
			return r.acc.Encode(nil), false
		}
		c.sendUp(r)
		return nil, false
	}
	if len(c.rounds) >= maxRounds {
		c.endOldestRound()
	}
	c.roundSeq++
	r.seq = c.roundSeq
	c.rounds[r.key] = r
	return nil, r.parent == ""
}

// absorb merges a child's encoded partial into r (an undecodable or overlapping one is dropped: the
// round's answer then misses shards and the originator retries).
func (c *Cluster) absorb(r *round, payload []byte) {
	r.waiting--
	if p, err := DecodePartial(r.q, payload); err == nil {
		r.acc.merge(p)
	}
}

// sendUp queues r's result for its parent: an OpPartial to the parent member, or the deferred reply to
// the originator's query.
func (c *Cluster) sendUp(r *round) {
	b := r.acc.Encode(nil)
	c.hasOutgoing.Store(true)
	if r.parent == "" {
		c.outgoing = append(c.outgoing, Outgoing{To: r.key.origin, Reply: true, QueryID: r.queryID, Payload: b})
		return
	}
	msg := Op{Kind: OpPartial, ID: r.key.id, Addr: r.key.origin, Cmds: [][][]byte{{b}}}
	c.outgoing = append(c.outgoing, Outgoing{To: r.parent, Payload: msg.Encode(nil)})
}

// OnPartial takes a child's OpPartial (point to point). The result, if the round is complete, is in
// TakeOutgoing.
func (c *Cluster) OnPartial(op Op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(op.Cmds) != 1 || len(op.Cmds[0]) != 1 {
		return
	}
	key := roundKey{op.Addr, op.ID}
	r := c.rounds[key]
	if r == nil {
		if len(c.earlyParts) >= maxEarlyPartials {
			c.earlyParts = slices.Delete(c.earlyParts, 0, 1)
		}
		c.earlyParts = append(c.earlyParts, earlyPartial{key: key, payload: op.Cmds[0][0]})
		return
	}
	c.absorb(r, op.Cmds[0][0])
	if r.waiting <= 0 {
		delete(c.rounds, key)
		c.sendUp(r)
	}
}

// endRounds ends every waiting round (a view change), in age order so that the outgoing messages are
// the same whatever the map order, and forgets held early partials. Caller holds c.mu.
func (c *Cluster) endRounds() {
	rs := make([]*round, 0, len(c.rounds))
	for _, r := range c.rounds {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *round) int { return cmp.Compare(a.seq, b.seq) })
	clear(c.rounds)
	for _, r := range rs {
		c.sendUp(r)
	}
	c.earlyParts = nil
}

// endOldestRound ends the oldest round (the bound on rounds). Caller holds c.mu.
func (c *Cluster) endOldestRound() {
	var oldest *round
	for _, r := range c.rounds {
		if oldest == nil || r.seq < oldest.seq {
			oldest = r
		}
	}
	if oldest != nil {
		delete(c.rounds, oldest.key)
		c.sendUp(oldest)
	}
}

// TakeOutgoing returns (and forgets) the messages the replica wants sent: the driver sends each
// Outgoing with Reply as the deferred answer to the query, the others point to point.
func (c *Cluster) TakeOutgoing() []Outgoing {
	if !c.hasOutgoing.Load() {
		return nil // the common case (every delivery of a write): no lock
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.outgoing
	c.outgoing = nil
	c.hasOutgoing.Store(false)
	return out
}
