package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/protocol"
	"github.com/vsdb/vsdb/shard"
	"github.com/vsdb/vsdb/vsync"
	vsim "github.com/vsdb/vsdb/vsync/sim"
)

// opKind is what a client operation does.
type opKind uint8

const (
	kindSet   opKind = iota + 1 // SET k v
	kindGet                     // GET k (a plain key or a counter)
	kindIncr                    // INCR c
	kindDel                     // DEL k
	kindMSet                    // MSET pa v pb v (a pair: its keys are in different shards)
	kindMGet                    // MGET pa pb
	kindMDel                    // DEL pa pb
	kindFinal                   // the final strict read: MGET of every key
)

var kindNames = map[opKind]string{kindSet: "set", kindGet: "get", kindIncr: "incr", kindDel: "del",
	kindMSet: "mset", kindMGet: "mget", kindMDel: "mdel", kindFinal: "final"}

// status is the outcome of an operation.
type status uint8

const (
	statusPending status = iota
	statusOK             // answered
	statusUnknown        // may or may not have taken effect (timeout, CLUSTERDOWN after sending, crash)
	statusFailed         // certainly not executed (refused before anything was sent)
)

var statusNames = map[status]string{statusPending: "pending", statusOK: "ok", statusUnknown: "unknown", statusFailed: "failed"}

// op is one client operation of the history. call and ret are stamps of one counter that every
// invocation and response advances, so they order events in real time exactly (ticks are coarser).
type op struct {
	client int // -1: the final read
	kind   opKind
	keys   []string
	value  string // SET/MSET
	cmds   [][][]byte
	write  bool
	local  bool // answered by a local read
	proc   string
	id     uint64
	callTk int64
	retTk  int64
	call   int64
	ret    int64
	status status
	reply  protocol.Value
	route  dht.Router // the originator's router when it sent the op
	// localAck: a LocalAck write (acknowledged at its originator's delivery, no commit notice).
	localAck bool
	resent   bool // a LocalAck write applied nowhere, sent again as a query
}

// driver is the DHT application on the simulator: it makes each member's replica and runs the clients.
type driver struct {
	o       Options
	ns      int
	h       *vsim.Host
	stamp   int64
	nextID  uint64
	ops     []*op
	busy    []*op               // per client: its operation in flight (one at a time)
	reps    map[string]*replica // per process: the replica of its current member
	keys    keySet
	resets  []reset
	resetAt map[[2]uint64]bool // (view, shard) already recorded
	final   *op
	events  []event // view installs, for the formatted history (KeepHistory)
	// firstView is the group's founding view (the first view any member installed).
	firstView uint64
	// nextValue numbers the values written (each SET/MSET writes a value no other op writes).
	nextValue int64
	rehashes  int // hash-generation changes asked for (Rehash)
}

// event is a line of the formatted history other than a client operation.
type event struct {
	tick  int64
	stamp int64
	text  string
}

// reset is a shard's data loss: a view in which no replica that held the shard's data remains, so its
// replicas start it empty (an in-memory DHT loses a shard when all its replicas fail together).
type reset struct {
	shard int
	view  uint64
	at    int64 // stamp of the first install of that view
	tick  int64
	moved bool    // a replica holding the data survived in another shard of the view
	where placing // where keys were when the view was installed
}

// placing is where keys live at a moment: under the current router, or, during a hash migration, in
// the old shard's outbox until the chunk of their CRC16 slot was delivered (dht/rehash.go).
type placing struct {
	route     dht.Router
	migrating bool
	from      dht.Router
	cursors   []int // per source shard, as MigrationCursors
}

// placingOf returns where r's replica places keys now (call it before OnView: a view that loses a
// source moves its cursor to the end).
func (d *driver) placingOf(r *replica) placing {
	pl := placing{route: r.c.Router()}
	if from, _, ok := r.c.Migration(); ok {
		var h dht.Hasher
		if d.o.Rehash {
			h = SimHashers(from)
		}
		pl.migrating, pl.from, pl.cursors = true, dht.NewRouter(d.ns, from, h), r.c.MigrationCursors()
	}
	return pl
}

// shardOf returns the shard that holds key's data.
func (p placing) shardOf(key string) int {
	k := []byte(key)
	now := p.route.ShardOfKey(k)
	if !p.migrating {
		return now
	}
	if old := p.from.ShardOfKey(k); old != now && int(shard.KeySlot(k)) >= p.cursors[old] {
		return old // still in old's outbox
	}
	return now
}

// loses reports whether the reset lost key.
func (r reset) loses(key string) bool { return r.where.shardOf(key) == r.shard }

func newDriver(o Options) *driver {
	ns := o.Params.WithDefaults().Shards()
	return &driver{o: o, ns: ns, busy: make([]*op, o.Clients), reps: map[string]*replica{},
		keys: newKeySet(ns), resetAt: map[[2]uint64]bool{}}
}

func (d *driver) NewApp(h *vsim.Host, proc string, _ int, m *vsync.Member) vsim.App {
	d.h = h
	if old := d.reps[proc]; old != nil {
		old.abandon()
	}
	r := newReplica(d, proc, m)
	d.reps[proc] = r
	return r
}

func (d *driver) next() int64 {
	d.stamp++
	return d.stamp
}

func (d *driver) nowMs() int64 { return d.h.Now() * 10 }

// noteView records a shard reset seen at a view install (the same at every member of the view).
func (d *driver) noteView(r *replica, before, after dht.Layout, where placing) {
	if d.o.KeepHistory {
		var ready []string
		for _, m := range after.Placement {
			if after.Ready[m] {
				ready = append(ready, m)
			}
		}
		_, myShard := r.c.Digest(d.nowMs())
		d.events = append(d.events, event{tick: d.h.Now(), stamp: d.stamp, text: fmt.Sprintf("%s installs view %d: placement %v ready %v (loaded shard %d)",
			r.m.ID(), after.ViewID, after.Placement, ready, myShard)})
	}
	first := d.firstView
	if first == 0 {
		d.firstView = after.ViewID
		first = after.ViewID
	}
	for s := 0; s < d.ns; s++ {
		if d.resetAt[[2]uint64{after.ViewID, uint64(s)}] {
			continue
		}
		if len(before.Placement) == 0 {
			// A member's first view without metadata: the group's founding view (nothing to lose), or
			// a restart after every member failed (everything is lost).
			if after.ViewID != first {
				d.resetAt[[2]uint64{after.ViewID, uint64(s)}] = true
				d.resets = append(d.resets, reset{shard: s, view: after.ViewID, at: d.next(), tick: d.h.Now(), where: where})
			}
			continue
		}
		had := false
		for _, m := range before.Placement {
			had = had || before.Ready[m] && dht.ShardOfMember(before.Placement, m, d.ns) == s
		}
		kept := false
		for _, m := range after.Placement {
			if !after.Ready[m] || dht.ShardOfMember(after.Placement, m, d.ns) != s {
				continue
			}
			if before.Ready[m] && dht.ShardOfMember(before.Placement, m, d.ns) == s {
				kept = true
			}
		}
		if had && !kept {
			// moved: a replica that held the shard's data is still in the view, placed in another
			// shard (NextPlacement's tail member filled a departed member's position).
			moved := false
			for _, m := range before.Placement {
				moved = moved || before.Ready[m] && dht.ShardOfMember(before.Placement, m, d.ns) == s &&
					dht.ShardOfMember(after.Placement, m, d.ns) >= 0
			}
			d.resetAt[[2]uint64{after.ViewID, uint64(s)}] = true
			d.resets = append(d.resets, reset{shard: s, view: after.ViewID, at: d.next(), tick: d.h.Now(), moved: moved, where: where})
		}
	}
}

// Tick is the clients' step: abandon operations of members that are gone, start new ones, and, near
// the end, the final read.
func (d *driver) Tick(h *vsim.Host) {
	d.h = h
	for _, proc := range h.Procs() {
		if r := d.reps[proc]; r != nil && h.Member(proc, 0) != r.m {
			r.abandon()
			delete(d.reps, proc)
		}
	}
	for _, proc := range h.Procs() {
		if r := d.reps[proc]; r != nil {
			r.tickCommits()
			if !r.stopped {
				r.pumpTransfers()
			}
		}
	}
	now := h.Now()
	steps := int64(h.Steps())
	if d.o.Rehash {
		d.tickRehash(now, steps)
	}
	if now < steps-stopBeforeEndTicks {
		for c := range d.busy {
			if d.busy[c] == nil && h.Rand().Intn(1000) < d.o.OpPerMille {
				d.start(c)
			}
		}
	}
	if now >= steps-finalBeforeEndTicks && (d.final == nil || d.final.status == statusFailed ||
		(d.final.status == statusUnknown && now < steps-finalRetryUntilTicks)) && now%5 == 0 {
		d.startFinal()
	}
}

// tickRehash asks, every rehashEveryTicks from a quarter of the run (generation 1) and from 45%
// (generation 2) until 60%, a random live member to multicast the change, until some member runs the
// generation (a change is refused while a shard transfer or another migration runs).
func (d *driver) tickRehash(now, steps int64) {
	gen := uint64(0)
	switch {
	case now >= steps*60/100 || now%rehashEveryTicks != 0:
		return
	case now >= steps*45/100:
		gen = 2
	case now >= steps*25/100:
		gen = 1
	default:
		return
	}
	var live []*replica
	for _, proc := range d.h.Procs() {
		if r := d.reps[proc]; r != nil && !r.stopped && !r.m.Stopped() && r.m.View().ID != 0 {
			if r.c.Router().Gen >= gen {
				return
			}
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	r := live[d.h.Rand().Intn(len(live))]
	op := dht.HashGenOp(gen)
	if _, err := r.m.OrderedSend(op.Encode(nil)); err == nil {
		d.rehashes++
		if d.o.KeepHistory {
			d.events = append(d.events, event{tick: now, stamp: d.stamp, text: fmt.Sprintf("%s asks for hash generation %d", r.m.ID(), gen)})
		}
	}
}

// rehashEveryTicks spaces a Rehash run's requests for a hash-generation change.
const rehashEveryTicks = 20

// Timing of the end of a run: clients stop issuing operations stopBeforeEndTicks before the end (those
// in flight end by the query timeout), the final read starts finalBeforeEndTicks before the end and is
// retried until finalRetryUntilTicks before it.
const (
	stopBeforeEndTicks   = 400
	finalBeforeEndTicks  = 150
	finalRetryUntilTicks = 40
	finalTimeoutTicks    = 30
	connectTries         = 3 // processes a client tries before its operation fails
)

// start begins one random operation of client c at a random process.
func (d *driver) start(c int) {
	o := d.randomOp(c)
	d.busy[c] = o
	d.issue(o, 0)
}

func (d *driver) startFinal() {
	keys := d.keys.all()
	cmd := [][]byte{[]byte("mget")}
	for _, k := range keys {
		cmd = append(cmd, []byte(k))
	}
	o := &op{client: -1, kind: kindFinal, keys: keys, cmds: [][][]byte{cmd}}
	d.final = o
	d.issue(o, finalTimeoutTicks)
}

// issue runs o at a random process: a local read when the replica may serve it, else one ordered query
// to the group (the server's run).
func (d *driver) issue(o *op, timeoutTicks int) {
	h := d.h
	procs := h.Procs()
	o.call, o.callTk = d.next(), h.Now()
	d.ops = append(d.ops, o)
	// Like a client with the list of nodes, try up to connectTries random processes: a process that is
	// down, or whose member stopped (it rejoins later), refuses before anything is sent.
	var m *vsync.Member
	var r *replica
	for try := 0; try < connectTries; try++ {
		o.proc = procs[h.Rand().Intn(len(procs))]
		m, r = h.Member(o.proc, 0), d.reps[o.proc]
		if m != nil && r != nil && r.m == m && !r.stopped {
			break
		}
		m = nil
	}
	if m == nil {
		d.finish(o, statusFailed, nil) // connection refused or CLUSTERDOWN before anything was sent
		return
	}
	if !o.write && o.kind != kindFinal && r.localReadOK() {
		if out, ok := r.c.ReadLocal(nil, o.cmds, d.nowMs()); ok {
			o.local = true
			d.finish(o, statusOK, out)
			return
		}
	}
	d.query(r, m, o, timeoutTicks, !d.o.WriteAckAll && o.write && r.c.CanAckLocally(o.cmds))
}

// query sends o as one ordered op: a LocalAck write (localAck: answered at this member's own
// delivery, ownAnswered) or a query every member answers (complete).
func (d *driver) query(r *replica, m *vsync.Member, o *op, timeoutTicks int, localAck bool) {
	h := d.h
	kind := dht.OpRead
	if o.write {
		kind = dht.OpWrite
	}
	d.nextID++
	o.id = d.nextID
	o.route = r.c.Router()
	o.localAck = localAck
	dop := dht.Op{Kind: kind, ID: o.id, NowMs: d.nowMs(), Cmds: o.cmds, LocalAck: localAck}
	if o.write {
		dop.IDs = r.takeCommits()
	}
	if localAck {
		if _, err := m.OrderedSend(dop.Encode(nil)); err != nil {
			d.finish(o, statusFailed, nil)
			return
		}
		r.acked[o.id] = o
		h.Ready(o.proc, 0)
		return
	}
	qid, err := m.Query(vsync.FlavourOrdered, dop.Encode(nil), vsync.ReplyAll, timeoutTicks)
	if err != nil {
		d.finish(o, statusFailed, nil)
		return
	}
	r.inflight[qid] = o
	h.Ready(o.proc, 0)
}

// ownAnswered ends a LocalAck write at its originator's delivery: with this replica's answer, or, when
// it was applied nowhere (the originator was no longer a ready replica of its shards), sent again as a
// query (the server's writeOp).
func (d *driver) ownAnswered(r *replica, m *vsync.Member, o *op, a ownAnswer) {
	if !a.applied {
		if r.stopped {
			d.finish(o, statusUnknown, nil)
			return
		}
		o.resent = true
		d.query(r, m, o, 0, false)
		return
	}
	var replies []vsync.QueryReply
	if a.reply != nil {
		replies = []vsync.QueryReply{{From: m.ID(), Payload: a.reply}}
	}
	d.complete(r, m, o, vsync.QueryResult{Replies: replies})
}

// complete ends a query: every touched shard must have answered every command, else CLUSTERDOWN (the
// op may have been applied at some shards: unknown). A strict write's commit notice follows its answer.
func (d *driver) complete(r *replica, m *vsync.Member, o *op, q vsync.QueryResult) {
	if q.TimedOut || q.Aborted {
		d.finish(o, statusUnknown, nil)
		return
	}
	col := dht.CollectParts(q.Replies, len(o.cmds))
	parts := col.Parts
	for i := range o.cmds {
		for _, p := range parts[i] {
			if dht.IsMigratingReply(p) {
				d.finish(o, statusFailed, nil) // keys were moving: applied nowhere (the server retries it)
				return
			}
		}
	}
	// The shards that must have answered: under the router of the generation the op was applied in
	// (the replies say), which may be newer than the one this member routed it by.
	answered := func(rt dht.Router) bool {
		for i, cmd := range o.cmds {
			for _, s := range rt.ShardsOf(cmd) {
				if _, ok := parts[i][s]; !ok {
					return false
				}
			}
		}
		return true
	}
	rt := o.route
	if col.GenKnown {
		rt = r.c.RouterAt(col.Gen)
	}
	if !answered(rt) {
		d.finish(o, statusUnknown, nil)
		return
	}
	var out []byte
	for i, cmd := range o.cmds {
		out = rt.MergeReply(out, cmd, parts[i])
	}
	if o.write && !o.localAck {
		// Acknowledged: the originator releases its own replica at once; the others learn it from the
		// next write op of this member, or from a lone notice (tickCommits).
		r.c.Commit(m.ID(), o.id)
		r.commits = append(r.commits, o.id)
	}
	d.finish(o, statusOK, out)
}

// finish records o's outcome; out is its RESP reply (statusOK).
func (d *driver) finish(o *op, st status, out []byte) {
	if o.status != statusPending {
		return
	}
	o.ret, o.retTk, o.status = d.next(), d.h.Now(), st
	if st == statusOK {
		v, err := protocol.ReadReply(bufio.NewReader(bytes.NewReader(out)))
		if err != nil {
			panic(fmt.Sprintf("dhtsim: unreadable reply %q to %s: %v", out, kindNames[o.kind], err))
		}
		o.reply = v
	}
	if o.client >= 0 && d.busy[o.client] == o {
		d.busy[o.client] = nil
	}
}

// randomOp draws client c's next operation.
func (d *driver) randomOp(c int) *op {
	rng := d.h.Rand()
	k := d.keys
	d.nextValue++
	val := "v" + strconv.FormatInt(d.nextValue, 10)
	o := &op{client: c}
	switch r := rng.Intn(100); {
	case r < 28:
		o.kind, o.keys = kindGet, []string{k.plain[rng.Intn(len(k.plain))]}
	case r < 50:
		o.kind, o.keys, o.value, o.write = kindSet, []string{k.plain[rng.Intn(len(k.plain))]}, val, true
	case r < 62:
		o.kind, o.keys, o.write = kindIncr, []string{k.counters[rng.Intn(len(k.counters))]}, true
	case r < 70:
		o.kind, o.keys = kindGet, []string{k.counters[rng.Intn(len(k.counters))]}
	case r < 76:
		o.kind, o.keys, o.write = kindDel, []string{k.plain[rng.Intn(len(k.plain))]}, true
	case r < 86:
		p := k.pairs[rng.Intn(len(k.pairs))]
		o.kind, o.keys, o.value, o.write = kindMSet, p[:], val, true
	case r < 96:
		p := k.pairs[rng.Intn(len(k.pairs))]
		o.kind, o.keys = kindMGet, p[:]
	default:
		p := k.pairs[rng.Intn(len(k.pairs))]
		o.kind, o.keys, o.write = kindMDel, p[:], true
	}
	name := map[opKind]string{kindSet: "set", kindGet: "get", kindIncr: "incr", kindDel: "del",
		kindMSet: "mset", kindMGet: "mget", kindMDel: "del"}[o.kind]
	cmd := [][]byte{[]byte(name)}
	for _, key := range o.keys {
		cmd = append(cmd, []byte(key))
		if o.value != "" {
			cmd = append(cmd, []byte(o.value))
		}
	}
	o.cmds = [][][]byte{cmd}
	return o
}

// keySet is the workload's keys: plain keys (GET/SET/DEL), counters (INCR/GET only) and pairs (MSET,
// MGET, DEL of both keys only; the two keys of a pair are in different shards when there are several).
type keySet struct {
	ns       int
	plain    []string
	counters []string
	pairs    [][2]string
}

func newKeySet(ns int) keySet {
	k := keySet{ns: ns, plain: []string{"k0", "k1", "k2", "k3", "k4", "k5"}, counters: []string{"c0", "c1"}}
	for i := 0; len(k.pairs) < 2; i++ {
		a, b := fmt.Sprintf("pa%d", i), fmt.Sprintf("pb%d", i)
		if ns == 1 || dht.ShardOfKey([]byte(a), ns) != dht.ShardOfKey([]byte(b), ns) {
			k.pairs = append(k.pairs, [2]string{a, b})
		}
	}
	return k
}

func (k keySet) all() []string {
	out := append(append([]string(nil), k.plain...), k.counters...)
	for _, p := range k.pairs {
		out = append(out, p[0], p[1])
	}
	return out
}

func (k keySet) isCounter(key string) bool {
	for _, c := range k.counters {
		if c == key {
			return true
		}
	}
	return false
}
