package dht

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/vsdb/vsdb/shard"
)

/*
Hash generations: the manual's DHTGetHashCodeChanged, at a consistent cut of the total order.

The key → slot function is generation 0's (Redis Cluster's CRC16) until an ordered OpHashGen switches
to generation g's hasher (Hashers(g), the same code at every member). Its delivery is the cut:

  - Every member switches its Router to generation g at the same point of the order, so every op
    delivered after it is routed with the new hasher and every op before it with the old one.
  - Every loaded replica of shard s moves the keys that now belong to another shard out of its store
    into an outbox (a store of their own). The replicas of s hold the same data at the cut, so their
    outboxes are equal. Those replicas are the holders of s's outbox (replicated: every member computes
    the same list).
  - The holders' first member in placement order (the sender) multicasts the outbox, slot after slot of
    the store's CRC16 index, as ordered OpMigrate chunks, one in flight at a time: chunk "slots a..b-1"
    is sent when the replicated cursor of s is a, and delivering it moves the cursor to b. Every
    holder would cut the same chunk at the same cursor, so when the sender leaves, the next holder
    resumes at the cursor after the view change (a duplicate delivered late does not match the cursor
    and is ignored). A source whose holders all left lost those keys, like a shard whose replicas all
    left: its cursor jumps to the end.
  - A chunk is applied at its delivery by the loaded replicas of the keys' new shards (a replica that is
    loading its shard buffers it like a write, so it reaches the joiner in order). A chunk delivered
    while some shard has no ready replica is not consumed (its keys would be dropped there while they
    are safe in the outbox); it is sent again after the next view change.
  - While any source has not finished (the migration), ops that touch keys are applied nowhere and
    their replicas answer ErrMigrating (TRYAGAIN) for them; local reads are refused; aggregation
    queries are not answered. Every member decides this the same way, since the cursors are replicated.
    When the last source finishes, every member drops its outbox and the cluster serves again, from a
    state in which every key sits in its new shard.

Preconditions, checked at the delivery of OpHashGen (the same answer everywhere): the generation is
above the current one, no migration is running, every shard has a ready replica, and every placed
member is ready (no shard transfer in
progress: a member loading from a donor would otherwise receive a slice cut under the old hasher).
A member that does not know generation g's hasher cannot follow the cut: it stops serving (Fault) and
its driver takes it out of the group.
*/

// ErrMigrating is the error text for an operation that arrived while keys move to a new hash
// generation (the server retries it for ClusterConfig.MigrationWait before answering it).
const ErrMigrating = "TRYAGAIN the cluster is moving keys to a new hash generation, try again"

// migration is the replicated state of a hash-generation change in progress.
type migration struct {
	From    uint64 // the generation before the cut
	Gen     uint64
	Cursor  []int    // per source shard: the next CRC16 slot of its outbox to send; shard.SlotCount: finished
	Holders []holder // the members that hold their shard's outbox
}

// holder is a member that holds source shard Shard's outbox: a ready replica of it at the cut that
// stayed one (a member placed in another shard dropped its store and outbox).
type holder struct {
	Member string
	Shard  int
}

func (m *migration) done() bool {
	return !slices.ContainsFunc(m.Cursor, func(c int) bool { return c < shard.SlotCount })
}

// SetHashers sets the hashers of generations >= 1. Call it before the first event.
func (c *Cluster) SetHashers(h Hashers) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hashers = h
}

// hasherOf returns generation gen's hasher (nil for 0 or unknown).
func (c *Cluster) hasherOf(gen uint64) Hasher {
	if gen == 0 || c.hashers == nil {
		return nil
	}
	return c.hashers(gen)
}

// Router returns the current key → shard mapping (without the lock: it is read for every command).
func (c *Cluster) Router() Router { return *c.routeNow.Load() }

// RouterAt returns the router of hash generation gen (with the current number of shards), for merging
// replies applied under gen (ShardReply.Gen); the current router if gen is current or its hasher is
// unknown here.
func (c *Cluster) RouterAt(gen uint64) Router {
	cur := c.Router()
	if gen == cur.Gen {
		return cur
	}
	c.mu.Lock()
	h := c.hasherOf(gen)
	c.mu.Unlock()
	if gen != 0 && h == nil {
		return cur
	}
	return NewRouter(cur.NS, gen, h)
}

// setRoute changes the router. Caller holds c.mu.
func (c *Cluster) setRoute(r Router) { c.routeNow.Store(&r) }

// Migrating reports whether keys are moving to a new hash generation.
func (c *Cluster) Migrating() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mig != nil
}

// Migration reports the generations of a migration in progress (from → to).
func (c *Cluster) Migration() (from, to uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mig == nil {
		return 0, 0, false
	}
	return c.mig.From, c.mig.Gen, true
}

// MigrationCursors returns, during a migration, each source shard's cursor: the CRC16 slot (of the
// store's index) below which its moved keys were delivered to their new shards.
func (c *Cluster) MigrationCursors() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mig == nil {
		return nil
	}
	return slices.Clone(c.mig.Cursor)
}

// Fault returns why this member cannot follow the group (nil normally): it does not know a hash
// generation the group switched to. Its driver must take it out of the group. It is read after every
// delivery, so it costs no lock.
func (c *Cluster) Fault() error {
	if e := c.faultNow.Load(); e != nil {
		return *e
	}
	return nil
}

// faulted records err as the member's Fault and stops it (local reads refused; every later event
// ignored). Caller holds c.mu.
func (c *Cluster) faulted(err error) error {
	c.faultNow.Store(&err)
	c.stopped = true
	return err
}

// HashGenOp returns the op that switches the group to hash generation gen.
func HashGenOp(gen uint64) Op { return Op{Kind: OpHashGen, ID: gen} }

// applyHashGen runs OpHashGen (see the block comment) and returns the answer every member gives: +OK,
// or the error that refused it.
func (c *Cluster) applyHashGen(op Op) []byte {
	gen := op.ID
	refuse := func(msg string) []byte { return fmt.Appendf(nil, "-%s\r\n", msg) }
	switch {
	case len(c.view.Members) < c.params.MinGroupSize:
		return refuse(ErrClusterDown)
	case c.mig != nil:
		return refuse(ErrMigrating)
	case gen <= c.Router().Gen:
		return refuse(fmt.Sprintf("ERR hash generation %d is not above the current one (%d)", gen, c.Router().Gen))
	}
	for s := 0; s < c.ns; s++ {
		if c.donorOf(s) == "" {
			return refuse(ErrClusterDown) // a shard without a replica could not receive its keys
		}
	}
	for _, m := range c.placement {
		if m != "" && !c.ready[m] {
			return refuse("TRYAGAIN a shard transfer is in progress, try again")
		}
	}
	h := c.hasherOf(gen)
	if h == nil {
		_ = c.faulted(fmt.Errorf("%w: the group switched to hash generation %d, which this member does not know", ErrParamsMismatch, gen))
		return refuse("ERR hash generation " + fmt.Sprint(gen) + " is unknown to member " + c.self)
	}
	c.mig = &migration{From: c.Router().Gen, Gen: gen, Cursor: make([]int, c.ns)}
	c.setRoute(NewRouter(c.ns, gen, h))
	for _, m := range c.placement {
		if m != "" && c.ready[m] {
			c.mig.Holders = append(c.mig.Holders, holder{m, ShardOfMember(c.placement, m, c.ns)})
		}
	}
	for s := range c.mig.Cursor {
		if c.donorOf(s) == "" {
			c.mig.Cursor[s] = shard.SlotCount // no replica: nothing to send (its data is lost)
		}
	}
	if c.loaded && c.myShard >= 0 {
		c.outbox = c.moveOut()
	}
	c.stamps.flushAll() // a WATCH across the cut fails: cheap, and no version has to move with its key
	c.endMigrationIfDone()
	c.pumpMigration()
	return []byte("+OK\r\n")
}

// moveOut moves the keys that the current router puts in another shard out of the store, into a new
// store (the outbox). Equal stores give equal outboxes.
func (c *Cluster) moveOut() *shard.Store {
	out := shard.NewStore(shard.Config{EvictionPolicy: shard.PolicyNoEviction, EvictionSamples: 5})
	var moved [][]byte
	for slot := c.st.NextSlot(0); slot >= 0; slot = c.st.NextSlot(slot + 1) {
		moved = moved[:0]
		c.st.ExportSlot(uint16(slot), shard.ImportNowMs, func(cmd [][]byte) {
			key := cmd[1]
			if c.Router().ShardOfKey(key) == c.myShard {
				return
			}
			out.Exec(nil, cloneArgs(cmd), shard.ImportNowMs)
			if len(moved) == 0 || !bytes.Equal(moved[len(moved)-1], key) {
				moved = append(moved, bytes.Clone(key))
			}
		})
		for _, k := range moved {
			c.st.Exec(nil, [][]byte{[]byte("del"), k}, shard.ImportNowMs)
		}
	}
	return out
}

// appendCmd appends a copy of cmd (which may alias a store) to op's commands and returns its size in
// bytes (what ChunkBytes counts).
func (op *Op) appendCmd(cmd [][]byte) int {
	op.Cmds = append(op.Cmds, cloneArgs(cmd))
	size := 0
	for _, a := range cmd {
		size += len(a)
	}
	return size
}

func cloneArgs(cmd [][]byte) [][]byte {
	out := make([][]byte, len(cmd))
	for i, a := range cmd {
		out[i] = bytes.Clone(a)
	}
	return out
}

// senderOf is the holder of source s's outbox that sends its chunks: the first in placement order.
func (c *Cluster) senderOf(s int) string {
	for _, m := range ReplicasOf(c.placement, s, c.ns) {
		if slices.Contains(c.mig.Holders, holder{m, s}) {
			return m
		}
	}
	return ""
}

// pumpMigration queues (Outgoing, ordered multicast) the next chunk of every source this member sends
// and has not sent at the current cursor in this view. Caller holds c.mu.
func (c *Cluster) pumpMigration() {
	if c.mig == nil || c.outbox == nil || c.stopped {
		return
	}
	if len(c.sentCursor) != c.ns {
		c.sentCursor = make([]int, c.ns)
		for i := range c.sentCursor {
			c.sentCursor[i] = -1
		}
	}
	s := c.myShard
	cur := c.mig.Cursor[s]
	if cur >= shard.SlotCount || c.sentCursor[s] == cur || c.senderOf(s) != c.self {
		return
	}
	c.sentCursor[s] = cur
	op := c.chunkAt(s, cur)
	c.outgoing = append(c.outgoing, Outgoing{Multicast: true, Payload: op.Encode(nil)})
	c.hasOutgoing.Store(true)
}

// chunkAt cuts source s's chunk at cursor from the outbox: whole slots from cursor until ChunkBytes
// (a chunk may pass it by one slot's keys).
func (c *Cluster) chunkAt(s, cursor int) Op {
	op := Op{Kind: OpMigrate, ID: c.mig.Gen, Shard: s, Seq: uint64(cursor)}
	size := 0
	next := shard.SlotCount
	for slot := c.outbox.NextSlot(cursor); slot >= 0; slot = c.outbox.NextSlot(slot + 1) {
		if size >= ChunkBytes {
			next = slot
			break
		}
		c.outbox.ExportSlot(uint16(slot), shard.ImportNowMs, func(cmd [][]byte) { size += op.appendCmd(cmd) })
	}
	op.IDs = []uint64{uint64(next)}
	op.Last = next == shard.SlotCount
	return op
}

// MigrationUnsent tells the replica that the driver could not multicast a chunk it queued: it is cut
// again (from the replicated cursor) at the next event.
func (c *Cluster) MigrationUnsent() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sentCursor = nil
}

// applyMigrate runs a delivered OpMigrate: the chunk at source's cursor moves it on, and its keys are
// applied by their new shard's replicas. Caller holds c.mu.
func (c *Cluster) applyMigrate(op Op) {
	m := c.mig
	if m == nil || op.ID != m.Gen || op.Shard >= c.ns || len(op.IDs) != 1 || op.Seq != uint64(m.Cursor[op.Shard]) ||
		op.IDs[0] <= op.Seq || op.IDs[0] > shard.SlotCount {
		return // a duplicate (resent after a view change), or not of this migration
	}
	for s := 0; s < c.ns; s++ {
		if c.donorOf(s) == "" {
			// A shard without a ready replica would drop its keys of the chunk, which are still safe
			// in the source's outbox: the chunk is not consumed, and is sent again at the next view
			// (in which that shard has replicas again, starting empty).
			return
		}
	}
	m.Cursor[op.Shard] = int(op.IDs[0])
	if c.myShard >= 0 {
		w := Op{Kind: OpWrite, NowMs: shard.ImportNowMs, Cmds: op.Cmds}
		switch {
		case c.loaded:
			c.applyMine(w, "", nil, nil)
		case c.load != nil:
			w.Cmds = cloneCmds(w.Cmds)
			c.load.buffer(bufferedOp{op: w})
		}
	}
	c.endMigrationIfDone()
	c.pumpMigration()
}

// endMigrationIfDone ends the migration when every source finished. Caller holds c.mu.
func (c *Cluster) endMigrationIfDone() {
	if c.mig != nil && c.mig.done() {
		c.mig, c.outbox, c.sentCursor = nil, nil, nil
	}
}

// migrationOnView updates the migration at a view install (after the placement and readiness): holders
// that left, changed shard or are not ready any more hold nothing; a source without holders is finished
// (its moved keys are lost with it); this member resends at the cursors. Caller holds c.mu.
func (c *Cluster) migrationOnView() {
	c.sentCursor = nil
	if c.mig == nil {
		c.outbox = nil
		return
	}
	held := make([]bool, c.ns)
	kept := c.mig.Holders[:0]
	for _, h := range c.mig.Holders {
		if ShardOfMember(c.placement, h.Member, c.ns) == h.Shard && c.ready[h.Member] {
			kept = append(kept, h)
			held[h.Shard] = true
		}
	}
	c.mig.Holders = kept
	for s := range c.mig.Cursor {
		if !held[s] {
			c.mig.Cursor[s] = shard.SlotCount
		}
	}
	if !slices.ContainsFunc(c.mig.Holders, func(h holder) bool { return h.Member == c.self }) {
		c.outbox = nil
	}
	c.endMigrationIfDone()
	c.pumpMigration()
}

// migratingReply answers, during a migration, this shard's parts of an op: ErrMigrating for each.
// Caller holds c.mu.
func (c *Cluster) migratingReply(op Op) []byte {
	r := ShardReply{Shard: c.myShard, Gen: c.Router().Gen}
	for i, cmd := range op.Cmds {
		if c.Router().PartFor(cmd, c.myShard) != nil {
			r.Parts = append(r.Parts, Part{Index: i, Reply: migratingErr})
		}
	}
	if len(r.Parts) == 0 {
		return nil
	}
	return r.Encode(nil)
}

// ErrSlotsCustomHasher is the error text for a slot command (CLUSTER COUNTKEYSINSLOT, GETKEYSINSLOT)
// under a custom hasher: its slots are not Redis Cluster's.
const ErrSlotsCustomHasher = "ERR slot commands need Redis Cluster's key hashing, and this cluster uses a custom hasher"

var migratingErr = []byte("-" + ErrMigrating + "\r\n")

// IsMigratingReply reports whether a shard's reply is ErrMigrating.
func IsMigratingReply(b []byte) bool { return bytes.Equal(b, migratingErr) }
