package sim

import (
	"fmt"
	"math/rand"
	"strings"

	"github.com/vsdb/vsdb/vsync"
)

// ScaleRow is one line of the scale table (must-show 5).
type ScaleRow struct {
	Members        int
	Multicasts     int
	MsgsPerMember  float64            // messages sent per member per multicast (everything, heartbeats included)
	ByKind         map[string]float64 // the same, per message kind
	ViewChangeTk   int64              // ticks from the crash of one member to the new view at every survivor
	FlushTk        int64              // of which: from the membership service's change to the install
	HeartbeatTicks int
	SuspectTicks   int
}

// Scale measures, for a group of n members in the simulator with no faults, the messages each member
// sends per OrderedSend (all members multicasting in turn, one multicast every two ticks) and the
// time of a view change after a crash.
//
// How the configuration scales with n (each rule keeps a per-member rate constant or a timeout above
// the time its traffic needs):
//   - HeartbeatTicks = n/10 (at least 2): each member sends about ten heartbeats per tick whatever n
//     (n-1 per interval), and receives as many;
//   - SuspectTicks = 6 heartbeat intervals (at least 24): failure detection scales with the interval;
//   - OracleLeaseTicks ≥ 3 suspicion timeouts, so a member's lease never runs out before its failure
//     detection would.
//
// The simulated network has to carry what one tick sends. In a group of n, one all-to-all round is
// n(n-1) packets sent in the same tick: every ordering batch makes each member tell every other that
// it knows the record, and the members of a view all installed it on the same tick, so their
// heartbeats leave together. At 500 members that is 249,500 packets, more than a buffer of 200,000
// packets in flight holds: the network then dropped, silently and every interval, the heartbeats of
// the last hundred members to tick, and every survivor suspected them during the view change (they
// were removed and stopped as firewalled). The network's buffer must hold a few such rounds
// (world.go: max(maxQueued, 4n²) packets).
func Scale(n int, multicasts int) (ScaleRow, error) {
	hb := max(2, n/10)
	suspect := max(24, 6*hb)
	c := newScaleCluster(n, hb, suspect)
	if _, err := c.Settle(20 * suspect); err != nil {
		return ScaleRow{}, fmt.Errorf("sim: %d members did not form a group: %w", n, err)
	}
	w := c.w
	before := w.stats.Messages
	kinds := map[string]int64{}
	for k, v := range w.stats.ByKind {
		kinds[k] = v
	}
	for i := 0; i < multicasts; i++ {
		p := w.procs[i%n]
		if _, err := p.members[0].OrderedSend([]byte("x")); err != nil {
			return ScaleRow{}, err
		}
		w.readyMember(p, 0)
		c.Run(2)
	}
	c.Run(4 * hb)
	row := ScaleRow{Members: n, Multicasts: multicasts, HeartbeatTicks: hb, SuspectTicks: suspect, ByKind: map[string]float64{}}
	den := float64(multicasts) * float64(n)
	row.MsgsPerMember = float64(w.stats.Messages-before) / den
	for k, v := range w.stats.ByKind {
		if d := v - kinds[k]; d > 0 {
			row.ByKind[k] = float64(d) / den
		}
	}
	// A view change: crash the last member, wait for every survivor to install the next view.
	victim := w.procs[n-1]
	start := w.now
	viewBefore := w.procs[0].members[0].View().ID
	c.w.crash(victim)
	victim.upAt = 1 << 62
	changeSeen := int64(0)
	for i := 0; i < 50*suspect; i++ {
		c.Run(1)
		if changeSeen == 0 && len(w.oracle) > 0 {
			if g := w.oracle[0].rep.Map().Groups["g0"]; g != nil && g.Record.Change != nil {
				changeSeen = w.now
			}
		}
		done := true
		for _, p := range w.procs[:n-1] {
			if p.members == nil || p.members[0] == nil {
				return row, fmt.Errorf("sim: scale %d: survivor %s stopped during the view change (members stopped, by reason: %v)",
					n, p.name, w.stats.Stopped)
			}
			if p.members[0].View().ID <= viewBefore || p.members[0].Wedged() {
				done = false
			}
		}
		if done {
			if w.stats.Overflowed > 0 {
				return row, fmt.Errorf("sim: scale %d: the network's buffer refused %d packets: the figures are not valid", n, w.stats.Overflowed)
			}
			row.ViewChangeTk = w.now - start
			if changeSeen > 0 {
				row.FlushTk = w.now - changeSeen
			}
			return row, nil
		}
	}
	return row, fmt.Errorf("sim: %d members: no view change after the crash", n)
}

// newScaleCluster starts n processes that all join at once (one batch join) with the given timing.
func newScaleCluster(n, hb, suspect int) *Cluster {
	opts := Options{Oracle: 1, Groups: 1, Steps: 1000}.withDefaults()
	w := &world{o: opts, rng: rand.New(rand.NewSource(1)), faults: map[string]bool{}, changeAt: map[string]int64{}}
	w.stats.ByKind = map[string]int64{}
	w.stats.Stopped = map[string]int64{}
	w.groups = []string{"g0"}
	w.addrs = []string{"o1"}
	r := &orep{addr: "o1", id: 1, storage: newRaftStorage()}
	w.oracle = append(w.oracle, r)
	w.startReplica(r)
	w.configure = func(c *vsync.Config) {
		c.HeartbeatTicks, c.SuspectTicks = hb, suspect
		c.OracleLeaseTicks = max(c.OracleLeaseTicks, 3*suspect)
		c.OracleStopTicks = max(c.OracleStopTicks, 4*c.OracleLeaseTicks)
	}
	c := &Cluster{w: w, blocked: map[[2]string]bool{}}
	w.filter = c.filter
	w.noWorkload = true
	w.quiet = true
	for i := 0; i < n; i++ {
		c.AddProcess()
	}
	return c
}

// FormatScale renders rows as a Markdown table.
func FormatScale(rows []ScaleRow) string {
	var b strings.Builder
	b.WriteString("| members | msgs/member/multicast | data | order | heartbeat+acks | oracle | heartbeat every (ticks) | suspect after (ticks) | view change (ticks) | of which flush+install |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %.1f | %.2f | %.2f | %.1f | %.2f | %d | %d | %d | %d |\n", r.Members, r.MsgsPerMember,
			r.ByKind[vsync.MsgData.String()], r.ByKind[vsync.MsgOrder.String()], r.ByKind[vsync.MsgHeartbeat.String()],
			r.ByKind[vsync.MsgOracleRequest.String()], r.HeartbeatTicks, r.SuspectTicks, r.ViewChangeTk, r.FlushTk)
	}
	return b.String()
}
