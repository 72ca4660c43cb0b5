package sim

import (
	"fmt"
	"math/rand"
	"slices"

	"github.com/vsdb/vsdb/vsync"
)

/*
Applications. Every member of the simulator runs an App, which the world feeds the member's events in
order (after recording them in the history). The default application is the delivery log (logApp) with
the built-in workload of every flavour; RunApp plugs in another one through a Driver, which makes each
member's App and replaces the built-in workload with its own per-tick step (client operations).

Invariants:
  - An App hook runs inside the world's execution of its member's Ready: what it asks of the member
    (Reply, Send, Query, P2PSend, …) is executed by the same loop, so a hook never calls Host.Ready.
  - Everything an App or Driver does is a function of the seed: it draws randomness only from
    Host.Rand and time only from Host.Now.
  - The default application draws from the world's generator exactly as before Apps existed, so `vsdb
    sim` replays every seed as it did.
*/

// App is the application of one member.
type App interface {
	// Deliver handles a delivered multicast; for a query (d.QueryID != 0) it answers with m.Reply or
	// m.NullReply (or not at all: the querier's timeout then counts it as null).
	Deliver(m *vsync.Member, d vsync.Delivery)
	// View handles the install of view v.
	View(m *vsync.Member, v vsync.View)
	// Checkpoint returns the state transfer of view v to its joiners (EventMakeCheckpoint).
	Checkpoint(m *vsync.Member, v vsync.View) vsync.CheckpointSource
	// LoadChunk loads chunk seq (from 1) of the state transfer this member receives before its first
	// view; last marks the final one.
	LoadChunk(m *vsync.Member, seq uint64, chunk []byte, last bool)
	// QueryDone handles the outcome of one of this member's queries.
	QueryDone(m *vsync.Member, q vsync.QueryResult)
	// P2P handles a point-to-point message (d.QueryID != 0: a P2P query to answer).
	P2P(m *vsync.Member, d vsync.Delivery)
	// Stopped reports that the member stopped for good (firewalled, partitioned, left); the process
	// rejoins later as a new incarnation with a new App.
	Stopped(m *vsync.Member, err error)
}

// Driver runs an application on the simulator (RunApp).
type Driver interface {
	// NewApp returns the application of a new member of group g (0-based) at process proc, before the
	// member joins.
	NewApp(h *Host, proc string, g int, m *vsync.Member) App
	// Tick runs once per tick, after the tick's deliveries, member ticks, faults and restarts, in place
	// of the built-in workload: the application's clients. It executes the Ready of every member it
	// asks something of (Host.Ready).
	Tick(h *Host)
}

// RunApp runs one seed with the application of d and checks the group history as RunSeed does
// (view agreement, virtual synchrony, ordering, liveness); d checks its own application's properties
// afterwards (through the Host it was handed, which stays readable after the run).
func RunApp(seed int64, o Options, d Driver) SeedResult { return runSeed(seed, o, d) }

// Host is the simulator as a Driver and its Apps see it.
type Host struct{ w *world }

// Now returns the current tick.
func (h *Host) Now() int64 { return h.w.now }

// Steps returns the run's length in ticks; faults stop at 60% of it (FaultsEnd).
func (h *Host) Steps() int { return h.w.o.Steps }

// FaultsEnd returns the last tick with random faults; the network heals after it.
func (h *Host) FaultsEnd() int64 { return int64(h.w.o.Steps * 6 / 10) }

// Rand returns the run's random generator (the only randomness an application may use).
func (h *Host) Rand() *rand.Rand { return h.w.rng }

// Procs returns the names of the member processes, in order.
func (h *Host) Procs() []string {
	out := make([]string, len(h.w.procs))
	for i, p := range h.w.procs {
		out[i] = p.name
	}
	return out
}

// Alive reports whether process proc is up.
func (h *Host) Alive(proc string) bool {
	p := h.w.procByName(proc)
	return p != nil && p.alive
}

// Member returns process proc's current member of group g (nil while the process is down or between a
// stop and the rejoin).
func (h *Host) Member(proc string, g int) *vsync.Member {
	p := h.w.procByName(proc)
	if p == nil || !p.alive || g >= len(p.members) {
		return nil
	}
	return p.members[g]
}

// App returns the application of process proc's current member of group g (nil as for Member).
func (h *Host) App(proc string, g int) App {
	if h.Member(proc, g) == nil {
		return nil
	}
	return h.w.procByName(proc).apps[g]
}

// Ready executes the Ready of process proc's member of group g (after the driver asked it something).
// Called from inside one of that member's App callbacks, it does nothing: the loop handling the
// member's events runs again until the member has nothing ready.
func (h *Host) Ready(proc string, g int) {
	if p := h.w.procByName(proc); p != nil && p.alive && g < len(p.members) {
		h.w.readyMember(p, g)
	}
}

// memberLeaseTicks is the members' lease that membership replicas wait out before removing a
// suspected member (Options.LeaseGuard), as the server's replicas do; 0 without the guard.
func (w *world) memberLeaseTicks() int {
	if !w.o.LeaseGuard {
		return 0
	}
	cfg := memberConfig("g", "x#1", w.addrs, w.o.Phi, nil, "")
	if w.configure != nil {
		w.configure(&cfg)
	}
	return cfg.WithDefaults().OracleLeaseTicks
}

// newApp returns the application of a new member.
func (w *world) newApp(p *proc, g int, m *vsync.Member) App {
	if w.driver == nil {
		return &logApp{w: w, p: p}
	}
	return w.driver.NewApp(w.host, p.name, g, m)
}

// logApp is the default application of one member: its state is the sequence of deliveries it
// applied (which state transfer copies to joiners); it answers queries with its id (one in ten with a
// null reply).
type logApp struct {
	w       *world
	p       *proc
	state   []byte
	loading []byte
}

func (a *logApp) Deliver(m *vsync.Member, d vsync.Delivery) {
	if d.Flavour != vsync.FlavourSend {
		a.state = fmt.Appendf(a.state, "%s:%d;", d.Tag.Sender, d.Tag.Seq)
	}
	if d.QueryID != 0 && !a.p.silent {
		switch a.w.rng.Intn(10) {
		case 0:
			_ = m.NullReply(d.Tag.Sender, d.QueryID)
		default:
			_ = m.Reply(d.Tag.Sender, d.QueryID, []byte(m.ID()))
		}
	}
}

func (a *logApp) View(*vsync.Member, vsync.View) {
	if a.loading != nil {
		a.state, a.loading = a.loading, nil
	}
}

func (a *logApp) Checkpoint(m *vsync.Member, v vsync.View) vsync.CheckpointSource {
	a.w.note("%s: checkpoint made for view %d %v (%d bytes)", m.ID(), v.ID, v.Members, len(a.state))
	return vsync.BytesCheckpoint(slices.Clone(a.state))
}

func (a *logApp) LoadChunk(m *vsync.Member, seq uint64, chunk []byte, last bool) {
	if seq == 1 {
		a.loading = []byte{}
	}
	a.loading = append(a.loading, chunk...)
	if last {
		a.w.note("%s: checkpoint loaded (%d bytes in %d chunks)", m.ID(), len(a.loading), seq)
	}
}

func (a *logApp) QueryDone(m *vsync.Member, q vsync.QueryResult) {
	var from []string
	for _, r := range q.Replies {
		from = append(from, r.From)
	}
	a.w.note("%s: query %d done: replies from %v timedOut=%v aborted=%v", m.ID(), q.ID, from, q.TimedOut, q.Aborted)
}

func (a *logApp) P2P(m *vsync.Member, d vsync.Delivery) {
	if d.QueryID != 0 {
		_ = m.Reply(d.Tag.Sender, d.QueryID, []byte("p2p"))
	}
}

func (a *logApp) Stopped(m *vsync.Member, err error) { a.w.note("%s: stopped: %v", m.ID(), err) }
