package membership

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vsdb/vsdb/vsync"
)

/*
ClusterMap is the replicated state machine of the membership service (the manual's ORACLE): the
authoritative record of every group. It is a pure function of the committed requests, applied in log
order on every replica, so all replicas agree on it.

Rules (one request at a time):
  - Join(m): a process restarting as a higher incarnation implicitly reports its older incarnations as
    failed. An incarnation that was removed (failed or left) may not come back (firewall). A group with
    no members is (re)created by installing the next view with m alone. Otherwise m waits in the
    pending joins, which enter together in the next change (batch join).
  - Leave(m): m waits in the pending leaves.
  - Suspect(t) from a member of the view or the change: t is retired; an ongoing change starts a new
    attempt without t (with the next survivor as coordinator); otherwise a change starts.
  - FlushDone(v, a) from the coordinator of attempt a of the change of view v installs v+1.
  - A change whose next members contain no survivor of the old view installs at once (restart view).
  - Pending joins and leaves start a change as soon as no change is in progress.

Bounds: Retired keeps one number per process (the highest retired incarnation); pending lists are
bounded by MaxPending per group (further joins are ignored and retried by the joiner).
*/
type ClusterMap struct {
	Groups  map[string]*GroupState `json:"groups"`
	Retired map[string]uint64      `json:"retired"` // process → highest retired incarnation
}

// GroupState is one group in the map.
type GroupState struct {
	Record        vsync.GroupRecord `json:"rec"`
	PendingJoins  []string          `json:"pj,omitempty"`
	PendingLeaves []string          `json:"pl,omitempty"`
}

// MaxPending bounds the pending joins and leaves of one group.
const MaxPending = 1024

// NewClusterMap returns an empty map.
func NewClusterMap() *ClusterMap {
	return &ClusterMap{Groups: map[string]*GroupState{}, Retired: map[string]uint64{}}
}

// SplitID splits "process#incarnation"; a missing or bad incarnation is 0.
func SplitID(id string) (string, uint64) {
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return id, 0
	}
	n, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil {
		return id, 0
	}
	return id[:i], n
}

func (c *ClusterMap) retired(id string) bool {
	p, inc := SplitID(id)
	r, ok := c.Retired[p]
	return ok && inc <= r
}

func (c *ClusterMap) retire(id string) {
	p, inc := SplitID(id)
	if r, ok := c.Retired[p]; !ok || inc > r {
		c.Retired[p] = inc
	}
}

// Apply applies one committed request and returns the members to notify of the group's new record
// (nil when nothing changed).
func (c *ClusterMap) Apply(req vsync.OracleRequest) []string {
	g := c.Groups[req.Group]
	if g == nil {
		if req.Op != vsync.OpJoin {
			return nil
		}
		g = &GroupState{Record: vsync.GroupRecord{Group: req.Group}}
		c.Groups[req.Group] = g
	}
	before := g.audience()
	changed := false
	switch req.Op {
	case vsync.OpJoin:
		changed = c.join(g, req.Member)
	case vsync.OpLeave:
		if g.Record.Has(req.Member) && !slices.Contains(g.PendingLeaves, req.Member) && len(g.PendingLeaves) < MaxPending {
			g.PendingLeaves = append(g.PendingLeaves, req.Member)
			changed = true
		}
		if i := slices.Index(g.PendingJoins, req.Member); i >= 0 {
			g.PendingJoins = slices.Delete(g.PendingJoins, i, i+1)
			c.retire(req.Member)
			changed = true
		}
	case vsync.OpSuspect:
		if g.Record.Has(req.Member) || slices.Contains(g.PendingJoins, req.Member) {
			changed = c.fail(g, req.Target)
		}
	case vsync.OpFlushDone:
		ch := g.Record.Change
		if ch != nil && g.Record.View.ID == req.View && ch.Attempt == req.Attempt && ch.Coordinator == req.Member {
			g.install(ch.Next)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	c.maybeStart(g)
	return union(before, g.audience())
}

// Valid reports whether applying req would change anything (a leader proposes only those).
func (c *ClusterMap) Valid(req vsync.OracleRequest) bool {
	g := c.Groups[req.Group]
	switch req.Op {
	case vsync.OpJoin:
		if c.retired(req.Member) {
			return false
		}
		return g == nil || !g.Record.Has(req.Member) && !slices.Contains(g.PendingJoins, req.Member)
	case vsync.OpLeave:
		return g != nil && (g.Record.Has(req.Member) && !slices.Contains(g.PendingLeaves, req.Member) ||
			slices.Contains(g.PendingJoins, req.Member))
	case vsync.OpSuspect:
		return g != nil && (g.Record.Has(req.Member) || slices.Contains(g.PendingJoins, req.Member)) &&
			(g.Record.Has(req.Target) || slices.Contains(g.PendingJoins, req.Target))
	case vsync.OpFlushDone:
		return g != nil && g.Record.Change != nil && g.Record.View.ID == req.View &&
			g.Record.Change.Attempt == req.Attempt && g.Record.Change.Coordinator == req.Member
	}
	return false
}

func (c *ClusterMap) join(g *GroupState, id string) bool {
	if c.retired(id) || g.Record.Has(id) || slices.Contains(g.PendingJoins, id) {
		return false
	}
	proc, _ := SplitID(id)
	changed := false
	for _, other := range g.audience() {
		if p, _ := SplitID(other); p == proc && other != id {
			changed = c.fail(g, other) || changed
		}
	}
	if len(g.PendingJoins) >= MaxPending {
		return changed
	}
	g.PendingJoins = append(g.PendingJoins, id)
	return true
}

// fail retires id and removes it from the view-to-be.
func (c *ClusterMap) fail(g *GroupState, id string) bool {
	if i := slices.Index(g.PendingJoins, id); i >= 0 {
		g.PendingJoins = slices.Delete(g.PendingJoins, i, i+1)
		c.retire(id)
		return true
	}
	if !g.Record.Has(id) {
		return false
	}
	c.retire(id)
	rec := &g.Record
	if rec.Change == nil {
		next := without(rec.View.Members, id)
		rec.Change = &vsync.ViewChange{Attempt: 0, Next: next}
	} else {
		rec.Change.Next = without(rec.Change.Next, id)
		rec.Change.Joiners = without(rec.Change.Joiners, id)
	}
	g.PendingLeaves = without(g.PendingLeaves, id)
	g.newAttempt()
	return true
}

// newAttempt bumps the attempt of the change and picks the coordinator (lowest-ranked survivor); a
// change without survivors installs at once.
func (g *GroupState) newAttempt() {
	ch := g.Record.Change
	ch.Attempt++
	ch.Coordinator = ""
	for _, id := range ch.Next {
		if g.Record.View.RankOf(id) >= 0 {
			ch.Coordinator = id
			break
		}
	}
	if ch.Coordinator == "" {
		g.install(ch.Next)
	}
}

func (g *GroupState) install(next []string) {
	restart := true
	for _, id := range next {
		if g.Record.View.RankOf(id) >= 0 {
			restart = false
		}
	}
	g.Record.View = vsync.View{ID: g.Record.View.ID + 1, Members: append([]string(nil), next...)}
	g.Record.Change = nil
	g.Record.Restart = restart
}

// maybeStart starts a change for the pending joins and leaves when none is in progress.
func (c *ClusterMap) maybeStart(g *GroupState) {
	rec := &g.Record
	if rec.Change != nil || len(g.PendingJoins) == 0 && len(g.PendingLeaves) == 0 {
		return
	}
	if len(rec.View.Members) == 0 {
		// An empty group: the joiners found it (no flush, no state).
		g.install(g.PendingJoins)
		g.PendingJoins = nil
		return
	}
	next := []string{}
	for _, id := range rec.View.Members {
		if !slices.Contains(g.PendingLeaves, id) {
			next = append(next, id)
		}
	}
	for _, id := range g.PendingLeaves {
		c.retire(id)
	}
	joiners := append([]string(nil), g.PendingJoins...)
	next = append(next, joiners...)
	rec.Change = &vsync.ViewChange{Next: next, Joiners: joiners}
	g.PendingJoins, g.PendingLeaves = nil, nil
	g.newAttempt()
}

// audience is everyone who must hear about the group's record.
func (g *GroupState) audience() []string {
	out := append([]string(nil), g.Record.View.Members...)
	if g.Record.Change != nil {
		out = append(out, g.Record.Change.Next...)
	}
	out = append(out, g.PendingJoins...)
	return out
}

func without(s []string, x string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := []string{}
	for _, s := range [][]string{a, b} {
		for _, v := range s {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}
