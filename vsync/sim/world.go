package sim

import (
	"fmt"
	"math/rand"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/check"
	"github.com/vsdb/vsdb/vsync/membership"
)

// Simulated time (ticks) and fault rates.
const (
	maxQueued      = 200000 // packets in flight (the network's buffer limit)
	dropPerMille   = 50
	dupPerMille    = 30
	crashPerMille  = 4 // per tick: some member process crashes
	totalPerMille  = 1 // per tick: every member process crashes at once
	oraclePerMille = 2
	partPerMille   = 2
)

// memberConfig is the member configuration the simulator uses: short timeouts so that a run of a
// thousand ticks sees many view changes.
func memberConfig(group, self string, oracle []string, phi int, st vsync.Storage, bug string) vsync.Config {
	return vsync.Config{Group: group, Self: self, Oracle: oracle, Storage: st, SafeAcceptors: phi,
		HeartbeatTicks: 2, SuspectTicks: 24, RetransmitTicks: 4, OracleSyncTicks: 5, OracleLeaseTicks: 60, OracleStopTicks: 240,
		MaxChunkBytes: 64, ChunkWindow: 2, QueryTimeoutTicks: 200, InjectBug: bug}
}

type packet struct {
	at   int64
	seq  int64
	from string // process
	to   string // process or replica address
	msg  *vsync.Message
	raft *raftpb.Message
}

// proc is one member process: its members (one per group) and its surviving SafeSend log.
type proc struct {
	name    string
	alive   bool
	inc     int
	members []*vsync.Member // per group, nil while down
	apps    []App
	log     *memLog
	upAt    int64
	side    int  // partition side
	silent  bool // the application never answers queries
	// readying[g]: readyMember of group g is running (an App callback's Host.Ready must not re-enter
	// it: a nested Ready would recycle the arrays of the Ready whose events are being handled).
	readying map[int]bool
}

// orep is one membership replica process.
type orep struct {
	addr    string
	id      uint64
	alive   bool
	rep     *membership.Replica
	storage *raft.MemoryStorage
	upAt    int64
	side    int
}

// memLog is a process's SafeSend log: it survives crashes of the process.
type memLog struct{ entries []vsync.LogEntry }

func (l *memLog) Entries() ([]vsync.LogEntry, error) { return slices.Clone(l.entries), nil }

func (l *memLog) forget(group string, t vsync.Tag) {
	out := l.entries[:0]
	for _, e := range l.entries {
		if !(e.Group == group && e.Tag == t) {
			out = append(out, e)
		}
	}
	l.entries = out
}

type world struct {
	o        Options
	rng      *rand.Rand
	now      int64
	step     int64
	pseq     int64
	queue    map[int64][]packet // packets by delivery tick, each slice in send (seq) order
	queued   int
	procs    []*proc
	oracle   []*orep
	addrs    []string
	groups   []string
	faults   map[string]bool
	hist     []check.Event
	stats    Stats
	healAt   int64
	changeAt map[string]int64 // group → tick its pending change was first seen

	byName     map[string]*proc
	filter     func(from, to string) bool // scripted link drops (Cluster)
	configure  func(*vsync.Config)        // member config overrides (Scale)
	quiet      bool                       // keep no history (Scale)
	noWorkload bool
	notes      []string // query results and other application-level lines (Cluster)
	driver     Driver   // the application (nil: the delivery log and the built-in workload)
	host       *Host
	// lazyRelay: members' deferred output (vsync.Member.FlushDeferred) is never flushed, as by a driver
	// that is never idle; one seed in four, so both the relay and its absence are simulated.
	lazyRelay bool
}

// RunSeed runs one seed.
func RunSeed(seed int64, o Options) SeedResult { return runSeed(seed, o, nil) }

func runSeed(seed int64, o Options, d Driver) SeedResult {
	o = o.withDefaults()
	w := &world{o: o, rng: rand.New(rand.NewSource(seed)), faults: map[string]bool{}, changeAt: map[string]int64{}, driver: d,
		lazyRelay: seed%4 == 3}
	w.host = &Host{w: w}
	w.stats.ByKind = map[string]int64{}
	w.stats.Stopped = map[string]int64{}
	for _, f := range o.Faults {
		w.faults[f] = true
	}
	for g := 0; g < o.Groups; g++ {
		w.groups = append(w.groups, fmt.Sprintf("g%d", g))
	}
	for i := 0; i < o.Oracle; i++ {
		w.addrs = append(w.addrs, fmt.Sprintf("o%d", i+1))
	}
	for i := range w.addrs {
		r := &orep{addr: w.addrs[i], id: uint64(i + 1), storage: newRaftStorage()}
		w.oracle = append(w.oracle, r)
		w.startReplica(r)
	}
	for i := 0; i < o.Members; i++ {
		p := &proc{name: fmt.Sprintf("n%d", i), log: &memLog{}}
		w.procs = append(w.procs, p)
		w.startProc(p, false)
	}
	faultEnd := int64(o.Steps * 6 / 10)
	for w.now = 1; w.now <= int64(o.Steps); w.now++ {
		w.deliverDue()
		w.tickAll()
		if w.now <= faultEnd {
			w.injectFaults()
		} else if w.now == faultEnd+1 {
			w.healAll()
		}
		w.restartDue()
		if d != nil {
			d.Tick(w.host)
		} else if w.now < int64(o.Steps)-100 {
			w.workload()
		}
	}
	w.stats.Ticks = int64(o.Steps)
	sr := SeedResult{Seed: seed, Stats: w.stats, History: w.hist, Replay: ReplayCommand(seed, o)}
	sr.Violations = check.CheckAll(w.hist)
	sr.Violations = append(sr.Violations, w.liveness()...)
	return sr
}

func (w *world) record(e check.Event) {
	if w.quiet {
		return
	}
	w.step++
	e.Step = w.step
	w.hist = append(w.hist, e)
	if w.noWorkload {
		w.notes = append(w.notes, formatEvent(e))
	}
}

// note adds an application-level line to a Cluster transcript.
func (w *world) note(format string, a ...any) {
	if w.noWorkload {
		w.notes = append(w.notes, fmt.Sprintf(format, a...))
	}
}

func (w *world) startReplica(r *orep) {
	rep, err := membership.NewReplica(membership.Config{ID: r.id, Addrs: w.addrs, Storage: r.storage,
		Rand: rand.New(rand.NewSource(w.rng.Int63())), ElectionTicks: 15, MemberLeaseTicks: w.memberLeaseTicks()})
	if err != nil {
		panic(err)
	}
	r.rep, r.alive = rep, true
	w.readyReplica(r)
}

func (w *world) startProc(p *proc, restart bool) {
	p.inc++
	p.alive = true
	self := fmt.Sprintf("%s#%d", p.name, p.inc)
	if restart {
		w.stats.Restarts++
		w.record(check.Event{Member: self, Kind: check.Restarted})
	}
	p.members = make([]*vsync.Member, len(w.groups))
	p.apps = make([]App, len(w.groups))
	for g, name := range w.groups {
		w.startMember(p, g, name, self)
	}
}

func (w *world) startMember(p *proc, g int, group, self string) {
	cfg := memberConfig(group, self, w.addrs, w.o.Phi, p.log, w.o.Bug)
	if w.configure != nil {
		w.configure(&cfg)
	}
	m, err := vsync.NewMember(cfg)
	if err != nil {
		panic(err)
	}
	p.members[g] = m
	p.apps[g] = w.newApp(p, g, m)
	if err := m.Join(); err != nil {
		panic(err)
	}
	w.readyMember(p, g)
}

// send puts a packet on the network, applying drop, dup and delay faults.
func (w *world) send(from, to string, msg *vsync.Message, rm *raftpb.Message) {
	if w.queue == nil {
		w.queue = map[int64][]packet{}
	}
	if w.queued >= w.queueLimit() {
		w.stats.Overflowed++
		return
	}
	if w.filter != nil && !w.filter(from, to) {
		return
	}
	if w.faults[FaultDrop] && w.rng.Intn(1000) < dropPerMille {
		return
	}
	copies := 1
	if w.faults[FaultDup] && w.rng.Intn(1000) < dupPerMille {
		copies = 2
	}
	for i := 0; i < copies; i++ {
		d := int64(1)
		if w.faults[FaultDelay] {
			d += int64(w.rng.Intn(8))
		}
		w.pseq++
		pk := packet{at: w.now + d, seq: w.pseq, from: from, to: to}
		if msg != nil {
			c := *msg
			if w.o.Codec {
				b, err := c.Marshal()
				if err != nil {
					panic(err)
				}
				if err := c.Unmarshal(b); err != nil {
					panic(err)
				}
			}
			pk.msg = &c
		} else {
			pk.raft = proto.Clone(rm).(*raftpb.Message)
		}
		w.queue[pk.at] = append(w.queue[pk.at], pk)
		w.queued++
	}
}

func newRaftStorage() *raft.MemoryStorage { return raft.NewMemoryStorage() }

func procOf(id string) string {
	p, _ := membership.SplitID(id)
	return p
}

func (w *world) procByName(name string) *proc {
	if p := w.byName[name]; p != nil {
		return p
	}
	for _, p := range w.procs {
		if p.name == name {
			if w.byName == nil {
				w.byName = map[string]*proc{}
			}
			w.byName[name] = p
			return p
		}
	}
	return nil
}

func (w *world) sideOf(name string) int {
	if p := w.procByName(name); p != nil {
		return p.side
	}
	for _, r := range w.oracle {
		if r.addr == name {
			return r.side
		}
	}
	return 0
}

// deliverDue delivers the packets due now, in (time, sequence) order.
func (w *world) deliverDue() {
	due := w.queue[w.now]
	delete(w.queue, w.now)
	w.queued -= len(due)
	for _, pk := range due {
		if w.sideOf(pk.from) != w.sideOf(pk.to) {
			continue
		}
		if pk.raft != nil || pk.msg.Kind == vsync.MsgOracleRequest {
			for _, r := range w.oracle {
				if r.addr == pk.to && r.alive {
					if pk.raft != nil {
						r.rep.StepRaft(pk.raft)
					} else {
						r.rep.Step(*pk.msg)
					}
					w.readyReplica(r)
				}
			}
			continue
		}
		if p := w.procByName(procOf(pk.msg.To)); p != nil {
			if !p.alive {
				continue
			}
			for g, m := range p.members {
				if m != nil && m.ID() == pk.msg.To && w.groups[g] == pk.msg.Group {
					m.Step(*pk.msg)
					w.readyMember(p, g)
				}
			}
		}
	}
}

func (w *world) tickAll() {
	for _, r := range w.oracle {
		if r.alive {
			r.rep.Tick()
			w.readyReplica(r)
		}
	}
	for _, p := range w.procs {
		if !p.alive {
			continue
		}
		for g, m := range p.members {
			if m != nil {
				m.Tick()
				w.readyMember(p, g)
			}
		}
	}
}

func (w *world) readyReplica(r *orep) {
	rd := r.rep.Ready()
	for _, rm := range rd.Raft {
		w.send(r.addr, rm.To, nil, rm.Msg)
	}
	for i := range rd.Members {
		msg := rd.Members[i]
		w.send(r.addr, procOf(msg.To), &msg, nil)
	}
}

// readyMember executes a member's Ready: log, send, then apply events, until it has nothing more; then,
// as an idle driver does, it flushes the member's deferred output (unless lazyRelay) and goes on.
func (w *world) readyMember(p *proc, g int) {
	if p.readying[g] {
		return // called back from an event of this loop: the loop runs until nothing is ready
	}
	if p.readying == nil {
		p.readying = map[int]bool{}
	}
	p.readying[g] = true
	defer delete(p.readying, g)
	for i := 0; i < 100; i++ {
		m := p.members[g]
		if m != nil && !w.lazyRelay && !m.HasReady() {
			m.FlushDeferred()
		}
		if m == nil || !m.HasReady() {
			return
		}
		rd := m.Ready()
		group := w.groups[g]
		for _, e := range rd.Entries {
			p.log.entries = append(p.log.entries, e)
			if e.Payload != nil {
				w.record(check.Event{Member: m.ID(), Group: group, Kind: check.SafeLogged, ViewID: m.View().ID,
					Sender: e.Tag.Sender, SenderSeq: e.Tag.Seq, Flavour: check.FlavourSafe})
			}
		}
		for _, t := range rd.Forget {
			p.log.forget(group, t)
		}
		for i := range rd.Messages {
			msg := rd.Messages[i]
			w.stats.Messages++
			w.stats.ByKind[msg.Kind.String()]++
			to := msg.To
			if msg.Kind != vsync.MsgOracleRequest {
				to = procOf(to)
			}
			w.send(p.name, to, &msg, nil)
		}
		m.Advance(rd)
		for _, ev := range rd.Events {
			w.onEvent(p, g, m, ev)
		}
	}
}

func (w *world) onEvent(p *proc, g int, m *vsync.Member, ev vsync.Event) {
	group := w.groups[g]
	a := p.apps[g]
	switch ev.Kind {
	case vsync.EventDeliver:
		w.stats.Deliveries++
		d := ev.Delivery
		w.record(check.Event{Member: m.ID(), Group: group, Kind: check.Delivered, ViewID: d.ViewID,
			Sender: d.Tag.Sender, SenderSeq: d.Tag.Seq, Flavour: d.Flavour.String(), Decided: d.Decided})
		a.Deliver(m, d)
	case vsync.EventView:
		w.stats.Views++
		w.record(check.Event{Member: m.ID(), Group: group, Kind: check.ViewInstalled, ViewID: ev.View.ID,
			Members: slices.Clone(ev.View.Members)})
		a.View(m, ev.View)
		if t, ok := w.changeAt[group]; ok {
			w.stats.ViewChangeTk = append(w.stats.ViewChangeTk, w.now-t)
			delete(w.changeAt, group)
		}
	case vsync.EventMakeCheckpoint:
		_ = m.SetCheckpointSource(a.Checkpoint(m, ev.View))
	case vsync.EventLoadChunk:
		a.LoadChunk(m, ev.ChunkSeq, ev.Chunk, ev.Last)
	case vsync.EventQueryDone:
		a.QueryDone(m, ev.Query)
	case vsync.EventFlushDone:
		w.record(check.Event{Member: m.ID(), Group: group, Kind: check.FlushReturned, ViewID: ev.View.ID,
			FlushWaitedFor: slices.Clone(ev.Flush.Seqs), K: ev.Flush.K})
	case vsync.EventP2P:
		a.P2P(m, ev.Delivery)
	case vsync.EventLease:
		if ev.Isolated {
			w.stats.Isolations++
			w.note("%s: lease ran out: isolated", m.ID())
		} else {
			w.stats.Renewals++
			w.note("%s: lease renewed", m.ID())
		}
	case vsync.EventStopped:
		w.stats.Stopped[errName(ev.Err)]++
		a.Stopped(m, ev.Err)
		// The process stays up; its member of this group is gone for good (Crashed for that group),
		// and the process rejoins the group as a fresh incarnation later.
		w.record(check.Event{Member: m.ID(), Group: group, Kind: check.Crashed})
		p.members[g] = nil
		if p.upAt == 0 || p.upAt < w.now {
			p.upAt = w.now + 10
		}
	}
}

func errName(err error) string {
	switch err {
	case vsync.ErrFirewalled:
		return "firewalled"
	case vsync.ErrPartitioned:
		return "partitioned"
	case vsync.ErrLeft:
		return "left"
	}
	return "error"
}

// queueLimit is the network's buffer (packets in flight): maxQueued, or in a large group room for four
// all-to-all rounds (n(n-1) packets each, sent in one tick: see Scale).
func (w *world) queueLimit() int { return max(maxQueued, 4*len(w.procs)*len(w.procs)) }
