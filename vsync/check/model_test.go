package check

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

/*
naiveGroup is a perfect virtually synchronous group, simulated the simple way, to generate correct
histories for the property tests. One group "g"; processes p0…; each crash ends an incarnation and a
restart makes the next one ("p1#2").

  - Every multicast goes into the current view's log, in one global order. A member delivers log
    entries when their prerequisites are delivered: earlier entries of the same sender and flavour
    (FIFO), and for ordered/safe every earlier ordered/safe entry (one total order). Sends can
    therefore overtake other senders' ordered messages, and a sender's Send can overtake its own
    OrderedSend.
  - A SafeSend is logged by the first Φ live members of the view before anyone can deliver it; logs
    belong to processes and survive crashes.
  - A view change (after crashes, or to add joiners) drops, for each crashed sender, the suffix of its
    messages that no survivor delivered, unless one is safe or covered by a returned Flush; the
    survivors then deliver all the rest, and install the next view (survivors in rank order, then the
    joiners).
  - When every member of the view has crashed, restarted processes form a restart view and replay, in
    log order, every safe message their processes logged.
  - Flush(k) at a member covers its messages in the current view, which are then never dropped.
  - After a view change, surviving acceptors sometimes forget (SafeForgotten) log entries of safe
    messages every survivor delivered; forgotten entries are not replayed.
*/
type naiveGroup struct {
	rng     *rand.Rand
	h       []Event
	step    int64
	viewID  uint64
	members []string
	alive   map[string]bool
	inc     map[string]int // process -> latest incarnation number
	seq     map[string]uint64
	phi     int
	log     []*entry
	done    map[string]map[int]bool // member -> delivered log positions
	logs    map[string][]msgKey     // process -> safe messages its incarnations logged, in order
	nextP   int
}

type entry struct {
	sender    string
	seq       uint64
	flavour   string
	protected bool
	dropped   bool
}

func newNaiveGroup(seed int64, n int) *naiveGroup {
	g := &naiveGroup{
		rng:   rand.New(rand.NewSource(seed)),
		alive: map[string]bool{}, inc: map[string]int{}, seq: map[string]uint64{},
		done: map[string]map[int]bool{}, logs: map[string][]msgKey{},
	}
	g.phi = 1 + g.rng.Intn(n)
	var ms []string
	for i := 0; i < n; i++ {
		ms = append(ms, g.newProcess())
	}
	g.install(ms)
	return g
}

func (g *naiveGroup) emit(e Event) {
	g.step += int64(g.rng.Intn(2)) // several events may share a step
	e.Step, e.Group = g.step, "g"
	if e.Kind == Crashed && g.rng.Intn(2) == 0 {
		e.Group = ""
	}
	g.h = append(g.h, e)
}

func (g *naiveGroup) newProcess() string {
	p := fmt.Sprintf("p%d", g.nextP)
	g.nextP++
	g.inc[p] = 1
	m := p + "#1"
	g.alive[m] = true
	return m
}

func (g *naiveGroup) restart(p string) string {
	g.inc[p]++
	m := fmt.Sprintf("%s#%d", p, g.inc[p])
	g.alive[m] = true
	g.emit(Event{Member: m, Kind: Restarted})
	return m
}

func (g *naiveGroup) install(ms []string) {
	g.viewID++
	g.members = ms
	g.log = nil
	for _, m := range g.rng.Perm(len(ms)) {
		g.emit(Event{Member: ms[m], Kind: ViewInstalled, ViewID: g.viewID, Members: ms})
		g.done[ms[m]] = map[int]bool{}
	}
}

func (g *naiveGroup) live() []string {
	var out []string
	for _, m := range g.members {
		if g.alive[m] {
			out = append(out, m)
		}
	}
	return out
}

func (g *naiveGroup) send(m, flavour string) {
	g.seq[m]++
	e := &entry{sender: m, seq: g.seq[m], flavour: flavour}
	g.log = append(g.log, e)
	if flavour == FlavourSafe {
		acc := g.live()
		if len(acc) > g.phi {
			acc = acc[:g.phi]
		}
		for _, a := range acc {
			g.emit(Event{Member: a, Kind: SafeLogged, ViewID: g.viewID, Sender: m, SenderSeq: e.seq, Flavour: FlavourSafe})
			g.logs[process(a)] = append(g.logs[process(a)], msgKey{"g", m, e.seq})
		}
	}
}

// deliverable reports whether member m may deliver log position i now.
func (g *naiveGroup) deliverable(m string, i int) bool {
	e := g.log[i]
	if e.dropped || g.done[m][i] {
		return false
	}
	total := e.flavour != FlavourSend
	for j := 0; j < i; j++ {
		p := g.log[j]
		if p.dropped || g.done[m][j] {
			continue
		}
		if p.sender == e.sender && p.flavour == e.flavour {
			return false
		}
		if total && p.flavour != FlavourSend {
			return false
		}
	}
	return true
}

func (g *naiveGroup) deliver(m string, i int) {
	e := g.log[i]
	g.done[m][i] = true
	g.emit(Event{Member: m, Kind: Delivered, ViewID: g.viewID, Sender: e.sender, SenderSeq: e.seq, Flavour: e.flavour})
}

// deliverSome delivers a random deliverable entry at m, if any.
func (g *naiveGroup) deliverSome(m string) {
	var cand []int
	for i := range g.log {
		if g.deliverable(m, i) {
			cand = append(cand, i)
		}
	}
	if len(cand) > 0 {
		g.deliver(m, cand[g.rng.Intn(len(cand))])
	}
}

// deliverAll delivers everything left at m, in a valid order.
func (g *naiveGroup) deliverAll(m string) {
	for progress := true; progress; {
		progress = false
		for i := range g.log {
			if g.deliverable(m, i) {
				g.deliver(m, i)
				progress = true
			}
		}
	}
}

func (g *naiveGroup) crash(m string) {
	g.alive[m] = false
	g.emit(Event{Member: m, Kind: Crashed})
}

func (g *naiveGroup) flush(m string) {
	var qs []uint64
	for _, e := range g.log {
		if e.sender == m {
			e.protected = true
			qs = append(qs, e.seq)
		}
	}
	if len(qs) > 0 {
		k := 0 // Flush() half of the time, else Flush(k) with any k, even beyond the view's size
		if g.rng.Intn(2) == 0 {
			k = 1 + g.rng.Intn(len(g.members)+1)
		}
		g.emit(Event{Member: m, Kind: FlushReturned, ViewID: g.viewID, K: k, FlushWaitedFor: qs})
	}
}

// viewChange ends the current view: drop what crashed senders may lose, flush the rest to the
// survivors, install the next view with the joiners.
func (g *naiveGroup) viewChange(joiners int) {
	surv := g.live()
	if len(surv) == 0 {
		g.totalFailureRestart()
		return
	}
	lastKept := map[string]int{}
	for i, e := range g.log {
		keep := e.protected || e.flavour == FlavourSafe || g.alive[e.sender]
		for _, s := range surv {
			keep = keep || g.done[s][i]
		}
		if keep {
			lastKept[e.sender] = i
		}
	}
	for i, e := range g.log {
		if k, ok := lastKept[e.sender]; !ok || i > k {
			e.dropped = true
		}
	}
	for _, s := range g.rng.Perm(len(surv)) {
		g.deliverAll(surv[s])
	}
	g.forgetSome(surv)
	next := slices.Clone(surv)
	next = append(next, g.joiners(joiners)...)
	g.install(next)
}

// forgetSome garbage-collects, at random, surviving acceptors' log entries of the view's safe
// messages, which every survivor has now delivered; a forgotten entry is not replayed after a total
// failure.
func (g *naiveGroup) forgetSome(surv []string) {
	for _, e := range g.log {
		if e.flavour != FlavourSafe || e.dropped || g.rng.Intn(3) != 0 {
			continue
		}
		k := msgKey{"g", e.sender, e.seq}
		for _, a := range surv {
			p := process(a)
			if i := slices.Index(g.logs[p], k); i >= 0 {
				g.logs[p] = slices.Delete(g.logs[p], i, i+1)
				g.emit(Event{Member: a, Kind: SafeForgotten, ViewID: g.viewID, Sender: e.sender, SenderSeq: e.seq})
			}
		}
	}
}

// joiners restarts crashed processes (or makes new ones) for the next view.
func (g *naiveGroup) joiners(n int) []string {
	var out []string
	for _, p := range g.processes() {
		if len(out) == n {
			break
		}
		if !g.alive[fmt.Sprintf("%s#%d", p, g.inc[p])] {
			out = append(out, g.restart(p))
		}
	}
	for len(out) < n {
		out = append(out, g.newProcess())
	}
	return out
}

// processes returns every process name, sorted (map order must not leak into the history).
func (g *naiveGroup) processes() []string {
	var out []string
	for p := range g.inc {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (g *naiveGroup) totalFailureRestart() {
	n := 1 + g.rng.Intn(3)
	var ms []string
	procs := g.processes()
	for _, j := range g.rng.Perm(len(procs)) {
		if len(ms) == n {
			break
		}
		ms = append(ms, g.restart(procs[j]))
	}
	g.install(ms)
	seen := map[msgKey]bool{}
	var replay []msgKey
	for _, m := range ms {
		for _, k := range g.logs[process(m)] {
			if !seen[k] {
				seen[k] = true
				replay = append(replay, k)
			}
		}
	}
	// Log order across processes: sort by first appearance in the history's SafeLogged events.
	order := map[msgKey]int{}
	for i, e := range g.h {
		if e.Kind == SafeLogged {
			k := msgKey{"g", e.Sender, e.SenderSeq}
			if _, ok := order[k]; !ok {
				order[k] = i
			}
		}
	}
	slices.SortFunc(replay, func(a, b msgKey) int { return order[a] - order[b] })
	for _, k := range replay {
		g.log = append(g.log, &entry{sender: k.sender, seq: k.seq, flavour: FlavourSafe, protected: true})
	}
}

// run drives the group for about steps actions and returns the history.
func (g *naiveGroup) run(steps int) []Event {
	flavours := []string{FlavourSend, FlavourOrdered, FlavourSafe}
	for i := 0; i < steps; i++ {
		live := g.live()
		if len(live) == 0 {
			g.viewChange(0)
			continue
		}
		m := live[g.rng.Intn(len(live))]
		switch r := g.rng.Intn(100); {
		case r < 30:
			if g.allAlive() {
				g.send(m, flavours[g.rng.Intn(3)])
			} else {
				g.send(m, flavours[g.rng.Intn(2)])
			}
		case r < 85:
			g.deliverSome(m)
		case r < 89:
			g.flush(m)
		case r < 94:
			g.crash(m)
		case r < 96:
			g.viewChange(g.rng.Intn(3))
		default:
			if !g.allAlive() {
				g.viewChange(g.rng.Intn(2))
			}
		}
	}
	if g.rng.Intn(2) == 0 {
		g.viewChange(0) // end on a view boundary half of the time
	}
	return g.h
}

func (g *naiveGroup) allAlive() bool { return len(g.live()) == len(g.members) }

func TestRandomCorrectHistoriesPass(t *testing.T) {
	stats := map[EventKind]int{}
	restarts := 0
	for seed := int64(1); seed <= 300; seed++ {
		h := newNaiveGroup(seed, 2+int(seed%4)).run(400)
		for _, e := range h {
			stats[e.Kind]++
		}
		restarts += countRestartViews(h)
		if vs := CheckAll(h); len(vs) != 0 {
			t.Fatalf("seed %d: correct history reported (%d events): %v", seed, len(h), vs)
		}
	}
	t.Logf("events by kind: %v; restart views: %d", stats, restarts)
	if stats[Crashed] == 0 || stats[FlushReturned] == 0 || stats[SafeLogged] == 0 || stats[SafeForgotten] == 0 || restarts == 0 {
		t.Fatalf("the generator does not exercise every mechanism: %v, restart views %d", stats, restarts)
	}
}

func countRestartViews(h []Event) int {
	ix := buildIndex(h)
	n := 0
	for _, vk := range ix.viewOrder {
		if vk.id > 1 && isRestartView(ix, vk.group, vk.id, ix.views[vk]) {
			n++
		}
	}
	return n
}
