package sim

import (
	"fmt"
	"strings"

	"github.com/vsdb/vsdb/vsync"
	"github.com/vsdb/vsdb/vsync/check"
)

func (w *world) crash(p *proc) {
	for g, m := range p.members {
		if m != nil {
			w.record(check.Event{Member: m.ID(), Group: w.groups[g], Kind: check.Crashed})
		}
	}
	w.stats.Crashes++
	p.alive = false
	p.members = nil
	p.apps = nil
	p.upAt = w.now + 20 + int64(w.rng.Intn(100))
}

// injectFaults draws this tick's faults.
func (w *world) injectFaults() {
	if w.faults[FaultCrash] {
		if w.rng.Intn(1000) < totalPerMille {
			for _, p := range w.procs {
				if p.alive {
					w.crash(p)
				}
			}
		} else if w.rng.Intn(1000) < crashPerMille {
			var alive []*proc
			for _, p := range w.procs {
				if p.alive {
					alive = append(alive, p)
				}
			}
			if len(alive) > 0 {
				w.crash(alive[w.rng.Intn(len(alive))])
			}
		}
	}
	if w.faults[FaultOracle] && w.rng.Intn(1000) < oraclePerMille {
		alive := 0
		for _, r := range w.oracle {
			if r.alive {
				alive++
			}
		}
		r := w.oracle[w.rng.Intn(len(w.oracle))]
		if r.alive && alive-1 > len(w.oracle)/2 {
			r.alive = false
			r.rep = nil
			r.upAt = w.now + 20 + int64(w.rng.Intn(100))
		}
	}
	if w.faults[FaultPartition] {
		if w.healAt == 0 && w.rng.Intn(1000) < partPerMille {
			w.stats.Partitions++
			for _, p := range w.procs {
				p.side = w.rng.Intn(2)
			}
			for _, r := range w.oracle {
				r.side = w.rng.Intn(2)
			}
			w.healAt = w.now + 50 + int64(w.rng.Intn(150))
		} else if w.healAt != 0 && w.now >= w.healAt {
			w.healAll()
		}
	}
}

func (w *world) healAll() {
	w.healAt = 0
	for _, p := range w.procs {
		p.side = 0
	}
	for _, r := range w.oracle {
		r.side = 0
	}
}

// restartDue restarts crashed processes and replicas, and rejoins stopped members as new incarnations.
func (w *world) restartDue() {
	for _, r := range w.oracle {
		if !r.alive && r.upAt <= w.now {
			w.startReplica(r)
		}
	}
	for _, p := range w.procs {
		if !p.alive {
			if p.upAt <= w.now {
				w.startProc(p, true)
			}
			continue
		}
		if p.upAt == 0 || p.upAt > w.now {
			continue
		}
		p.upAt = 0
		var missing []int
		for g, m := range p.members {
			if m == nil {
				missing = append(missing, g)
			}
		}
		if len(missing) == 0 {
			continue
		}
		p.inc++
		self := fmt.Sprintf("%s#%d", p.name, p.inc)
		w.stats.Restarts++
		w.record(check.Event{Member: self, Kind: check.Restarted})
		for _, g := range missing {
			w.startMember(p, g, w.groups[g], self)
		}
	}
	if len(w.oracle) > 0 && w.oracle[0].alive {
		mp := w.oracle[0].rep.Map()
		for _, g := range w.groups {
			if gs := mp.Groups[g]; gs != nil && gs.Record.Change != nil {
				if _, ok := w.changeAt[g]; !ok {
					w.changeAt[g] = w.now
				}
			}
		}
	}
}

// workload starts operations of every flavour at random members.
func (w *world) workload() {
	for _, p := range w.procs {
		if !p.alive {
			continue
		}
		for g, m := range p.members {
			if m == nil || w.rng.Intn(1000) >= w.o.OpPerMille {
				continue
			}
			payload := []byte(fmt.Sprintf("%s@%d", m.ID(), w.now))
			var err error
			switch r := w.rng.Intn(100); {
			case r < 30:
				_, err = m.Send(payload)
			case r < 60:
				_, err = m.OrderedSend(payload)
			case r < 75:
				_, err = m.SafeSend(payload)
			case r < 85:
				want := []int{vsync.ReplyAll, vsync.ReplyMajority, 1, 2}[w.rng.Intn(4)]
				fl := vsync.Flavour(1 + w.rng.Intn(3))
				_, err = m.Query(fl, payload, want, 0)
			case r < 95:
				_, err = m.Flush(w.rng.Intn(4))
			default:
				v := m.View()
				if len(v.Members) > 1 {
					to := v.Members[w.rng.Intn(len(v.Members))]
					if to != m.ID() {
						if w.rng.Intn(2) == 0 {
							err = m.P2PSend(to, payload)
						} else {
							_, err = m.P2PQuery(to, payload, 0)
						}
					}
				}
			}
			if err == nil {
				w.stats.Multicasts++
			}
			w.readyMember(p, g)
		}
	}
}

// liveness checks that the run settled: after the faults stopped, every live process is a member of
// one agreed, unwedged view of each group.
func (w *world) liveness() []check.Violation {
	var out []check.Violation
	for g, group := range w.groups {
		var views []string
		agreed := uint64(0)
		ok := true
		for _, p := range w.procs {
			if !p.alive {
				continue
			}
			m := p.members[g]
			if m == nil || m.Stopped() || m.Wedged() || m.View().ID == 0 {
				ok = false
				state := "down"
				if m != nil {
					state = fmt.Sprintf("view=%d wedged=%v stopped=%v", m.View().ID, m.Wedged(), m.Stopped())
				}
				views = append(views, p.name+":"+state)
				continue
			}
			if agreed == 0 {
				agreed = m.View().ID
			} else if m.View().ID != agreed {
				ok = false
			}
			views = append(views, fmt.Sprintf("%s:view=%d", m.ID(), m.View().ID))
		}
		if !ok {
			out = append(out, check.Violation{Checker: "Liveness",
				Detail: fmt.Sprintf("group %s did not settle after the faults stopped: %s", group, strings.Join(views, " "))})
		}
	}
	return out
}
