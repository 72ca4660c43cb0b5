package sim

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"

	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/check"
)

// Cluster is a scripted simulation for golden transcripts and scenario tests: the same processes,
// network and membership replicas as Run, but with no random faults; the script crashes, partitions,
// drops and sends. Every message takes one tick.
type Cluster struct {
	w       *world
	blocked map[[2]string]bool // dropped links (from process → to process)
	queries map[string]string  // "member/id" → description, for reporting
}

// ClusterOptions configures NewCluster.
type ClusterOptions struct {
	Members int // processes n0 … (default 3)
	Oracle  int // membership replicas (default 1)
	Phi     int // SafeSend acceptors (0 = all)
	Seed    int64
}

// NewCluster starts the processes (each joins group g0) without running any tick.
func NewCluster(o ClusterOptions) *Cluster {
	if o.Members == 0 {
		o.Members = 3
	}
	if o.Oracle == 0 {
		o.Oracle = 1
	}
	opts := Options{Members: 0, Oracle: o.Oracle, Groups: 1, Phi: o.Phi, Steps: 1000}.withDefaults()
	opts.Members = 0
	w := &world{o: opts, rng: rand.New(rand.NewSource(o.Seed + 1)), faults: map[string]bool{}, changeAt: map[string]int64{}}
	w.stats.ByKind = map[string]int64{}
	w.stats.Stopped = map[string]int64{}
	w.groups = []string{"g0"}
	for i := 0; i < o.Oracle; i++ {
		w.addrs = append(w.addrs, fmt.Sprintf("o%d", i+1))
	}
	for i := range w.addrs {
		r := &orep{addr: w.addrs[i], id: uint64(i + 1), storage: newRaftStorage()}
		w.oracle = append(w.oracle, r)
		w.startReplica(r)
	}
	c := &Cluster{w: w, blocked: map[[2]string]bool{}, queries: map[string]string{}}
	w.filter = c.filter
	w.noWorkload = true
	for i := 0; i < o.Members; i++ {
		c.AddProcess()
		_, _ = c.Settle(500) // join one at a time, so ranks follow process order
	}
	return c
}

func (c *Cluster) filter(from, to string) bool { return !c.blocked[[2]string{from, to}] }

// AddProcess starts a new process that joins the group; it returns its name.
func (c *Cluster) AddProcess() string {
	p := &proc{name: fmt.Sprintf("n%d", len(c.w.procs)), log: &memLog{}}
	c.w.procs = append(c.w.procs, p)
	c.w.startProc(p, false)
	return p.name
}

func (c *Cluster) proc(name string) (*proc, error) {
	for _, p := range c.w.procs {
		if p.name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("sim: no process %q", name)
}

// Member returns the live member of process name (nil when down).
func (c *Cluster) Member(name string) *vsync.Member {
	p, err := c.proc(name)
	if err != nil || !p.alive || len(p.members) == 0 {
		return nil
	}
	return p.members[0]
}

// Run advances n ticks.
func (c *Cluster) Run(n int) {
	for i := 0; i < n; i++ {
		c.w.now++
		c.w.deliverDue()
		c.w.tickAll()
		c.w.restartDue()
	}
}

// Settle runs until every live process is a member of one agreed, unwedged view (at most max ticks);
// it returns the ticks it took.
func (c *Cluster) Settle(max int) (int, error) {
	quiet, last := 0, len(c.w.notes)
	for i := 0; i < max; i++ {
		if len(c.w.liveness()) == 0 && quiet >= settleQuietTicks {
			return i - quiet, nil
		}
		c.Run(1)
		if n := len(c.w.notes); n != last {
			quiet, last = 0, n
		} else {
			quiet++
		}
	}
	if v := c.w.liveness(); len(v) > 0 {
		return max, fmt.Errorf("%s", v[0].Detail)
	}
	return max, nil
}

// settleQuietTicks is how long nothing must happen for Settle to call the cluster settled.
const settleQuietTicks = 40

// Now returns the current tick.
func (c *Cluster) Now() int64 { return c.w.now }

// Crash crashes process name; it stays down until Restart.
func (c *Cluster) Crash(name string) error {
	p, err := c.proc(name)
	if err != nil {
		return err
	}
	if !p.alive {
		return fmt.Errorf("sim: %s is down", name)
	}
	c.w.crash(p)
	p.upAt = 1 << 62
	return nil
}

// Restart restarts a crashed process as a new incarnation (its SafeSend log survives).
func (c *Cluster) Restart(name string) error {
	p, err := c.proc(name)
	if err != nil {
		return err
	}
	if p.alive {
		return fmt.Errorf("sim: %s is up", name)
	}
	c.w.startProc(p, true)
	return nil
}

// Partition splits processes and replicas into the listed sides (names not listed stay on side 0).
func (c *Cluster) Partition(sides [][]string) {
	for i, side := range sides {
		for _, n := range side {
			for _, p := range c.w.procs {
				if p.name == n {
					p.side = i
				}
			}
			for _, r := range c.w.oracle {
				if r.addr == n {
					r.side = i
				}
			}
		}
	}
}

// Heal ends a partition and unblocks every link.
func (c *Cluster) Heal() {
	c.w.healAll()
	clear(c.blocked)
}

// Block drops every message from process from to process to (one direction).
func (c *Cluster) Block(from, to string) { c.blocked[[2]string{from, to}] = true }

// Do runs one operation at process name: send|ordered|safe payload, flush k, leave, query.
func (c *Cluster) Do(name, op string, args ...string) (string, error) {
	p, err := c.proc(name)
	if err != nil {
		return "", err
	}
	m := c.Member(name)
	if m == nil {
		return "", fmt.Errorf("sim: %s has no member", name)
	}
	arg := func(i int, def string) string {
		if i < len(args) {
			return args[i]
		}
		return def
	}
	var seq uint64
	switch op {
	case "send":
		seq, err = m.Send([]byte(arg(0, "x")))
	case "ordered":
		seq, err = m.OrderedSend([]byte(arg(0, "x")))
	case "safe":
		seq, err = m.SafeSend([]byte(arg(0, "x")))
	case "flush":
		var k int
		fmt.Sscan(arg(0, "0"), &k)
		seq, err = m.Flush(k)
	case "leave":
		err = m.Leave()
	case "query":
		// query <flavour> <want: all|majority|k> <timeout ticks>
		want := vsync.ReplyAll
		switch w := arg(1, "all"); w {
		case "all":
		case "majority":
			want = vsync.ReplyMajority
		default:
			fmt.Sscan(w, &want)
		}
		var timeout int
		fmt.Sscan(arg(2, "0"), &timeout)
		fl := map[string]vsync.Flavour{"send": vsync.FlavourSend, "ordered": vsync.FlavourOrdered, "safe": vsync.FlavourSafe}[arg(0, "send")]
		seq, err = m.Query(fl, []byte("q"), want, timeout)
	default:
		return "", fmt.Errorf("sim: unknown op %q", op)
	}
	c.w.readyMember(p, 0)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s -> %d", m.ID(), op, seq), nil
}

// SilentReplies makes process name stop answering queries (its handler never replies, not even null).
func (c *Cluster) SilentReplies(name string) error {
	p, err := c.proc(name)
	if err != nil {
		return err
	}
	p.silent = true
	return nil
}

// Events returns the history events since the last call, one line each, in a compact form.
func (c *Cluster) Events() string {
	var b strings.Builder
	for _, l := range c.w.notes {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	c.w.notes = nil
	return b.String()
}

func formatEvent(e check.Event) string {
	switch e.Kind {
	case check.ViewInstalled:
		return fmt.Sprintf("%s: view %d %v", e.Member, e.ViewID, e.Members)
	case check.Delivered:
		return fmt.Sprintf("%s: deliver %s %s:%d (view %d)", e.Member, e.Flavour, e.Sender, e.SenderSeq, e.ViewID)
	case check.Crashed:
		return fmt.Sprintf("%s: crashed", e.Member)
	case check.Restarted:
		return fmt.Sprintf("%s: restarted", e.Member)
	case check.SafeLogged:
		return fmt.Sprintf("%s: logged %s:%d", e.Member, e.Sender, e.SenderSeq)
	case check.FlushReturned:
		return fmt.Sprintf("%s: flush(%d) returned in view %d covering %v", e.Member, e.K, e.ViewID, e.FlushWaitedFor)
	}
	return fmt.Sprintf("%v", e)
}

// Views returns each process's current member and view.
func (c *Cluster) Views() string {
	var lines []string
	for _, p := range c.w.procs {
		m := c.Member(p.name)
		switch {
		case !p.alive:
			lines = append(lines, p.name+": down")
		case m == nil:
			lines = append(lines, p.name+": no member")
		default:
			st := ""
			if m.Wedged() {
				st = " wedged"
			}
			if m.Stopped() {
				st = " stopped"
			}
			lines = append(lines, fmt.Sprintf("%s: view %d %v%s", m.ID(), m.View().ID, m.View().Members, st))
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// Check runs the history checkers over everything so far.
func (c *Cluster) Check() []check.Violation { return check.CheckAll(c.w.hist) }

// History returns the history so far.
func (c *Cluster) History() []check.Event { return slices.Clone(c.w.hist) }

// FormatHistory renders a history one event per line ("step member: what"), the way a failing seed is
// read: RunSeed(seed, opts).History through FormatHistory shows every view install, delivery, crash,
// restart, SafeSend log write and flush return in order.
func FormatHistory(h []check.Event) string {
	var b strings.Builder
	for _, e := range h {
		fmt.Fprintf(&b, "%d %s\n", e.Step, formatEvent(e))
	}
	return b.String()
}
