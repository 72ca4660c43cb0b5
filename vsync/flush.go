package vsync

import (
	"fmt"
	"slices"
)

/*
The view change, as built (DESIGN §3.1):

 1. The membership service commits "view v is ending, attempt a, next members N, coordinator c"
    (GroupRecord.Change). Members learn it by push or by their periodic sync.
 2. Every survivor (member of v in N) wedges: no new multicasts leave (they queue), nothing is
    delivered, the sequencer stops. It sends c its FlushState: every multicast it holds, its frontiers,
    its delivered order prefix and every ordering record it holds (with the attempt that made it).
 3. c waits for all survivors' states and computes the decision (decide): the order is the records of
    the survivor that applied the newest earlier decision, else the union of the sequencer's records,
    cut at the first position nobody can supply, then extended with every other held ordered/safe
    message by (rank, index); per sender, Sends up to the longest contiguous run anyone holds. Each
    survivor gets the payloads it lacks.
 4. Two phases. Survivors adopt the decision without delivering (they log every SafeSend in it and
    record its order as theirs, so a later attempt's state carries it) and acknowledge; once all did,
    c delivers and tells them to deliver (commit; the next view's install also implies it). So a
    decision anyone delivered is held by every survivor, and a later attempt keeps it unchanged. With joiners, c then makes a checkpoint
    and streams it; when every joiner loaded the last chunk (or at once without joiners) c sends
    FlushDone and the service commits view v+1; everyone installs it.
 5. A survivor that suspects c (heartbeats stop) reports it; the service starts attempt a+1 with the next
    survivor as coordinator. Messages of other attempts are ignored.
*/
type wedge struct {
	attempt     uint64
	change      ViewChange
	coord       bool
	survivors   []string
	stateSentAt int64
	prepared    bool      // the decision of this attempt was adopted (phase 1)
	decision    *Decision // that decision
	applied     bool      // and delivered (phase 2)

	states     map[string]*FlushState
	decisions  map[string]*Decision
	acks       map[string]bool
	decided    bool
	lastResend int64
	xfer       *transfer
	done       bool
	doneAt     int64
	heard      map[string]int64 // joiners: last message
}

// older reports whether record a is older than b.
func older(a, b *GroupRecord) bool {
	if a.View.ID != b.View.ID {
		return a.View.ID < b.View.ID
	}
	return attemptOf(a) < attemptOf(b)
}

func attemptOf(r *GroupRecord) uint64 {
	if r.Change == nil {
		return 0
	}
	return r.Change.Attempt
}

// onRecord handles the membership service's record of the group.
func (m *Member) onRecord(rec *GroupRecord, leader bool) {
	if rec.Group != m.cfg.Group {
		return
	}
	if leader {
		m.lastLease = m.now
		defer m.renewed()
	}
	if m.rec != nil && older(rec, m.rec) {
		return
	}
	m.rec = rec
	switch m.phase {
	case phaseJoining:
		if rec.View.RankOf(m.cfg.Self) >= 0 {
			m.install(rec.View)
			m.onRecordMember(rec)
			return
		}
		if rec.Change != nil {
			m.join.track(m, rec)
		}
	case phaseMember:
		m.onRecordMember(rec)
	}
}

// renewed ends an isolation once a leader answered, unless that answer stopped the member (it learned
// that it was removed) or made it a member of another view (install resets the lease).
func (m *Member) renewed() {
	if m.isolated && m.phase == phaseMember {
		m.isolated = false
		m.event(Event{Kind: EventLease})
	}
}

func (m *Member) removedErr() error {
	if m.leaving {
		return ErrLeft
	}
	return ErrFirewalled
}

func (m *Member) onRecordMember(rec *GroupRecord) {
	if rec.View.ID > m.vs.view.ID {
		if rec.View.RankOf(m.cfg.Self) < 0 {
			m.stop(m.removedErr())
			return
		}
		if rec.View.ID == m.vs.view.ID+1 && m.wc != nil && m.wc.prepared {
			m.commitDecision() // the install proves every survivor prepared this decision
		}
		if rec.View.ID != m.vs.view.ID+1 || m.wc == nil || !m.wc.applied {
			// This member missed a flush it had to take part in: it was excluded and re-added, which
			// the service forbids; treat it as a poison pill.
			m.stop(ErrFirewalled)
			return
		}
		m.install(rec.View)
		if m.phase != phaseMember {
			return
		}
	}
	if rec.View.ID != m.vs.view.ID || rec.Change == nil {
		return
	}
	if !contains(rec.Change.Next, m.cfg.Self) {
		m.stop(m.removedErr())
		return
	}
	if m.wc == nil || rec.Change.Attempt > m.wc.attempt {
		m.startWedge(*rec.Change)
	}
}

// startWedge begins (or restarts, for a new attempt) the flush of the current view.
func (m *Member) startWedge(ch ViewChange) {
	vs := m.vs
	vs.flushOrder(m) // records already assigned still go out
	wc := &wedge{attempt: ch.Attempt, change: ch, coord: ch.Coordinator == m.cfg.Self,
		states: map[string]*FlushState{}, decisions: map[string]*Decision{}, acks: map[string]bool{},
		heard: map[string]int64{}, survivors: make([]string, 0, len(ch.Next))}
	for _, id := range ch.Next {
		if vs.rankOf(id) >= 0 {
			wc.survivors = append(wc.survivors, id)
		}
	}
	for _, j := range ch.Joiners {
		wc.heard[j] = m.now
	}
	m.wc = wc
	st := vs.state(m.cfg.Group)
	if wc.coord {
		wc.states[m.cfg.Self] = st
		m.maybeDecide()
		return
	}
	wc.stateSentAt = m.now
	m.send(Message{Kind: MsgFlushState, Group: m.cfg.Group, From: m.cfg.Self, To: ch.Coordinator,
		View: vs.view.ID, Attempt: ch.Attempt, State: st})
}

func (m *Member) onFlushState(msg Message) {
	wc := m.wc
	if wc == nil || !wc.coord || msg.Attempt != wc.attempt || msg.State == nil || wc.decided {
		return
	}
	if !contains(wc.survivors, msg.From) || len(msg.State.Recv) != len(m.vs.senders) {
		return
	}
	wc.states[msg.From] = msg.State
	m.maybeDecide()
}

func (m *Member) maybeDecide() {
	wc := m.wc
	if wc.decided {
		return
	}
	for _, id := range wc.survivors {
		if wc.states[id] == nil {
			return
		}
	}
	wc.decided = true
	for id, d := range m.decide() {
		wc.decisions[id] = d
	}
	for _, id := range wc.survivors {
		if id == m.cfg.Self {
			m.prepareDecision(wc.decisions[id])
			wc.acks[id] = true
			continue
		}
		m.send(Message{Kind: MsgFlushDecision, Group: m.cfg.Group, From: m.cfg.Self, To: id,
			View: m.vs.view.ID, Attempt: wc.attempt, Decision: wc.decisions[id]})
	}
	wc.lastResend = m.now
	m.maybeCommit()
}

// decide computes the per-survivor flush decisions from the collected states (step 3 above).
func (m *Member) decide() map[string]*Decision {
	vs, wc := m.vs, m.wc
	n := len(vs.view.Members)
	states := make([]*FlushState, len(wc.survivors))
	held := make([]map[Ref]bool, len(wc.survivors))
	avail := map[Ref]*Message{}
	minDel := ^uint64(0)
	var best *FlushState
	for i, id := range wc.survivors {
		st := wc.states[id]
		states[i] = st
		held[i] = map[Ref]bool{}
		for _, msg := range st.Msgs {
			r := Ref{Rank: vs.rankOf(msg.From), Idx: msg.Idx}
			if r.Rank < 0 {
				continue
			}
			held[i][r] = true
			if avail[r] == nil {
				avail[r] = msg
			}
		}
		minDel = min(minDel, st.Delivered)
		if st.Applied > 0 && (best == nil || st.Applied > best.Applied) {
			best = st
		}
	}
	// Messages at positions every survivor delivered are done.
	done := map[Ref]bool{}
	recs := map[uint64]Ref{}
	for _, st := range states {
		for _, rec := range st.Records {
			if rec.Pos <= minDel {
				done[rec.Ref] = true
			} else if best == nil {
				if _, ok := recs[rec.Pos]; !ok {
					recs[rec.Pos] = rec.Ref
				}
			}
		}
	}
	if best != nil {
		for _, rec := range best.Records {
			if rec.Pos > minDel {
				recs[rec.Pos] = rec.Ref
			}
		}
	}
	var records []OrderRecord
	pos := minDel
	for {
		r, ok := recs[pos+1]
		if !ok || avail[r] == nil || done[r] {
			break
		}
		pos++
		done[r] = true
		records = append(records, OrderRecord{Pos: pos, Ref: r, Attempt: wc.attempt})
	}
	upTo := make([]uint64, n)
	for r := 0; r < n; r++ {
		for _, st := range states {
			upTo[r] = max(upTo[r], st.Recv[r])
		}
		for avail[Ref{Rank: r, Idx: upTo[r] + 1}] != nil {
			upTo[r]++
		}
		if m.cfg.InjectBug == "flush-min-upto" {
			for _, st := range states {
				upTo[r] = min(upTo[r], st.Recv[r])
			}
		}
	}
	// The tail: every other held ordered/safe message up to its sender's first index no survivor has
	// (beyond such a gap a failed member may have delivered the missing one: FIFO forbids the rest). Those with a known sequencer position keep the
	// sequencer's relative order (the failed sequencer may have delivered them in it); the rest follow
	// by (rank, index). Once some survivor applied an earlier decision the order is final: its records
	// are the whole order and nothing is appended (a message that arrived since was delivered by nobody).
	if best == nil {
		var known, unknown []Ref
		seen := map[Ref]bool{}
		for _, p := range sortedKeys(recs) {
			r := recs[p]
			if p > pos && avail[r] != nil && !done[r] && !seen[r] && r.Idx <= upTo[r.Rank] {
				known = append(known, r)
				seen[r] = true
			}
		}
		for r := range avail {
			if avail[r].Flavour != FlavourSend && !done[r] && !seen[r] && r.Idx <= upTo[r.Rank] {
				unknown = append(unknown, r)
			}
		}
		slices.SortFunc(unknown, func(a, b Ref) int {
			if a.Rank != b.Rank {
				return a.Rank - b.Rank
			}
			return cmpU(a.Idx, b.Idx)
		})
		tail := append(known, unknown...)
		// Records known here may have gaps, so keep each sender's FIFO order: every sender keeps the
		// slots it occupies, filled with its messages in index order.
		per := map[int][]Ref{}
		for _, r := range tail {
			per[r.Rank] = append(per[r.Rank], r)
		}
		for _, l := range per {
			slices.SortFunc(l, func(a, b Ref) int { return cmpU(a.Idx, b.Idx) })
		}
		next := map[int]int{}
		for i, r := range tail {
			tail[i] = per[r.Rank][next[r.Rank]]
			next[r.Rank]++
		}
		for _, r := range tail {
			pos++
			records = append(records, OrderRecord{Pos: pos, Ref: r, Attempt: wc.attempt})
		}
	}
	out := map[string]*Decision{}
	for i, id := range wc.survivors {
		d := &Decision{UpTo: upTo, Base: minDel, Records: records}
		st := states[i]
		add := map[Ref]bool{}
		need := func(r Ref) {
			if !held[i][r] && !add[r] && avail[r] != nil {
				add[r] = true
				d.Msgs = append(d.Msgs, avail[r])
			}
		}
		for r := 0; r < n; r++ {
			for idx := st.Recv[r] + 1; idx <= upTo[r]; idx++ {
				need(Ref{Rank: r, Idx: idx})
			}
		}
		for _, rec := range records {
			if rec.Pos > st.Delivered {
				need(rec.Ref)
			}
		}
		out[id] = d
	}
	return out
}

// prepareDecision adopts a decision without delivering anything (phase 1 of step 4): the payloads it
// lacked, the decision's order as its own records (so a later attempt's state carries it), and a log
// entry for every SafeSend in it.
func (m *Member) prepareDecision(d *Decision) {
	vs, wc := m.vs, m.wc
	if !vs.frozen {
		vs.frozen, vs.frozenKnown, vs.frozenHeld, vs.frozenDelivered = true, vs.orderKnown, vs.held, vs.delivered
	}
	for _, msg := range d.Msgs {
		r := vs.rankOf(msg.From)
		s := &vs.senders[r]
		if msg.Idx > s.stable && s.held.get(msg.Idx) == nil {
			s.held.set(msg.Idx, vs.newEntry(msg))
		}
	}
	for r := range d.UpTo {
		s := &vs.senders[r]
		for s.held.get(s.recv+1) != nil {
			s.recv++
		}
	}
	for _, p := range vs.records.keys() {
		if p > d.Base {
			vs.records.remove(p)
		}
	}
	vs.applied = wc.attempt // before the markers: they carry the attempt as their ballot
	for _, rec := range d.Records {
		vs.records.set(rec.Pos, rec)
		if e := vs.lookup(rec.Ref); e != nil && e.msg.Flavour == FlavourSafe {
			m.logSafe(&e.msg)
			m.mark(vs, e, rec.Pos)
		}
	}
	vs.orderKnown = max(vs.orderKnown, d.Base+uint64(len(d.Records)))
	wc.decision = d
	wc.prepared = true
}

// commitDecision delivers the rest of the view as decided (phase 2 of step 4). It runs when the
// coordinator says every survivor prepared (or when the next view's install shows it did).
func (m *Member) commitDecision() {
	vs, wc := m.vs, m.wc
	if wc.applied || !wc.prepared {
		return
	}
	d := wc.decision
	for r, u := range d.UpTo {
		s := &vs.senders[r]
		for s.scan < u {
			s.scan++
			if e := s.held.get(s.scan); e != nil && e.msg.Flavour == FlavourSend && !e.delivered {
				m.deliverDecided(vs, e)
			}
		}
	}
	end := d.Base + uint64(len(d.Records))
	for vs.delivered < end {
		p := vs.delivered + 1
		e := vs.lookup(vs.records.get(p).Ref)
		if e == nil {
			panic(fmt.Sprintf("vsync: %s: flush decision position %d without payload (view %d attempt %d base %d delivered %d ref %+v recs %+v)", m.cfg.Self, p, vs.view.ID, wc.attempt, d.Base, vs.delivered, vs.records.get(p).Ref, d.Records))
		}
		e.pos = p
		if !e.delivered {
			m.deliverDecided(vs, e)
		}
		vs.delivered++
	}
	m.endReplay(vs) // a flush ends a restart view's recovery: deliver what was collected
	wc.applied = true
}

// deliverDecided delivers a message of the flush decision, logging an unlogged SafeSend first.
func (m *Member) deliverDecided(vs *vstate, e *entry) {
	if e.msg.Flavour == FlavourSafe {
		m.logSafe(&e.msg)
	}
	e.decided = true
	m.deliver(vs, e)
}

func (m *Member) onDecision(msg Message) {
	wc := m.wc
	if wc == nil || msg.Attempt != wc.attempt || msg.From != wc.change.Coordinator || msg.Decision == nil {
		return
	}
	if msg.Last {
		m.commitDecision() // phase 2: every survivor prepared
		return
	}
	if !wc.prepared {
		if len(msg.Decision.UpTo) != len(m.vs.senders) {
			return
		}
		m.prepareDecision(msg.Decision)
	}
	m.send(Message{Kind: MsgFlushAck, Group: m.cfg.Group, From: m.cfg.Self, To: msg.From, View: m.vs.view.ID, Attempt: wc.attempt})
}

func (m *Member) onFlushAck(msg Message) {
	wc := m.wc
	if wc == nil || !wc.coord || msg.Attempt != wc.attempt || !wc.decided {
		return
	}
	wc.acks[msg.From] = true
	m.maybeCommit()
}

// maybeCommit: once every survivor prepared the decision, the coordinator delivers it and tells the
// others to (they also commit on their own when they learn the next view was installed).
func (m *Member) maybeCommit() {
	wc := m.wc
	if wc.applied {
		return
	}
	for _, id := range wc.survivors {
		if !wc.acks[id] {
			return
		}
	}
	m.commitDecision()
	m.sendCommits()
	m.maybeFinish()
}

func (m *Member) sendCommits() {
	for _, id := range m.wc.survivors {
		if id != m.cfg.Self {
			m.send(Message{Kind: MsgFlushDecision, Group: m.cfg.Group, From: m.cfg.Self, To: id, View: m.vs.view.ID,
				Attempt: m.wc.attempt, Decision: &Decision{}, Last: true})
		}
	}
}

// maybeFinish starts state transfer or reports FlushDone once every survivor applied the decision.
func (m *Member) maybeFinish() {
	wc := m.wc
	if wc.done || wc.xfer != nil {
		return
	}
	for _, id := range wc.survivors {
		if !wc.acks[id] {
			return
		}
	}
	if len(wc.change.Joiners) == 0 {
		m.flushDone()
		return
	}
	wc.xfer = newTransfer(wc.change.Joiners)
	m.event(Event{Kind: EventMakeCheckpoint, View: View{ID: m.vs.view.ID + 1, Members: append([]string(nil), wc.change.Next...)}})
}

func (m *Member) flushDone() {
	wc := m.wc
	wc.done = true
	wc.doneAt = m.now
	m.oracle(OpFlushDone, "", m.vs.view.ID, wc.attempt)
}

// tickWedge retransmits flush traffic and watches joiners.
func (m *Member) tickWedge() {
	wc := m.wc
	if !wc.coord {
		if !wc.prepared && m.now-wc.stateSentAt >= int64(m.cfg.RetransmitTicks) {
			wc.stateSentAt = m.now
			m.send(Message{Kind: MsgFlushState, Group: m.cfg.Group, From: m.cfg.Self, To: wc.change.Coordinator,
				View: m.vs.view.ID, Attempt: wc.attempt, State: m.vs.state(m.cfg.Group)})
		}
		return
	}
	if wc.decided && m.now-wc.lastResend >= int64(m.cfg.RetransmitTicks) {
		wc.lastResend = m.now
		for _, id := range wc.survivors {
			if !wc.acks[id] {
				m.send(Message{Kind: MsgFlushDecision, Group: m.cfg.Group, From: m.cfg.Self, To: id,
					View: m.vs.view.ID, Attempt: wc.attempt, Decision: wc.decisions[id]})
			}
		}
	}
	if wc.xfer != nil && !wc.done {
		m.tickTransfer()
		for _, j := range wc.change.Joiners {
			if m.now-wc.heard[j] > int64(m.cfg.SuspectTicks) {
				m.suspect(j)
			}
		}
	}
	if wc.done && m.now-wc.doneAt >= int64(m.cfg.OracleSyncTicks) {
		m.flushDone()
	}
}

// install makes view v current.
func (m *Member) install(v View) {
	restart := m.phase == phaseJoining && m.rec != nil && m.rec.View.ID == v.ID && m.rec.Restart
	m.phase = phaseMember
	m.wc = nil
	m.join = nil
	m.lastLease = m.now // the view was committed by the service just now
	m.vs = newVState(v, m.cfg.Self, m.cfg.SafeAcceptors, m.now)
	m.renewed()
	m.event(Event{Kind: EventView, View: View{ID: v.ID, Members: append([]string(nil), v.Members...)}})
	// Own multicasts of earlier views were flushed: they are stable as far as Flush is concerned.
	keep := m.own[:0]
	for _, o := range m.own {
		if o.view == 0 {
			keep = append(keep, o)
		}
	}
	m.own = keep
	for _, p := range sortedKeys(m.p2p) {
		if v.RankOf(p) < 0 {
			delete(m.p2p, p)
		}
	}
	m.rp = nil
	if restart {
		m.startReplay()
	}
	pend := m.pending
	m.pending = nil
	for _, msg := range pend {
		m.sendData(msg)
	}
	// A query asked while no view was usable (wedged for a view change, or joining) left just now, with
	// the pending messages: it waits for the members of this view. (Without targets it could only time
	// out, even after every survivor had answered.)
	for _, id := range m.queryIDs {
		if q := m.queries[id]; q.targets == nil {
			q.targets = append([]string(nil), v.Members...)
		}
	}
	fut := m.future
	m.future = nil
	for _, msg := range fut {
		if msg.View == v.ID {
			m.Step(msg)
		} else if msg.View > v.ID {
			m.future = append(m.future, msg)
		}
	}
	m.checkQueries()
	m.checkFlushes()
}

// checkFlushes completes the Flush requests whose messages are stable.
func (m *Member) checkFlushes() {
	if m.vs == nil {
		return
	}
	vs := m.vs
	n := len(vs.view.Members)
	stable := func(seq uint64, k int) bool {
		if i := m.ownIndex(seq); i >= 0 {
			o := m.own[i]
			if o.view == 0 || m.wc != nil && o.view == vs.view.ID {
				return false
			}
			if o.view < vs.view.ID {
				return true
			}
			need := n
			if k > 0 && k < n {
				need = k
			}
			return vs.countRecv(vs.me, o.idx) >= need
		}
		return true // no longer tracked: stable everywhere or flushed by a view change
	}
	keep := m.flushes[:0]
	for _, f := range m.flushes {
		ok := true
		for _, s := range f.seqs {
			if !stable(s, f.k) {
				ok = false
				break
			}
		}
		if ok {
			m.event(Event{Kind: EventFlushDone, View: View{ID: vs.view.ID}, Flush: FlushResult{ID: f.id, K: f.k, Seqs: f.seqs}})
		} else {
			keep = append(keep, f)
		}
	}
	m.flushes = keep
	// Forget own messages stable at every member.
	// The messages sent in this view are a prefix of own (ownMsg), so this drops a prefix.
	if m.wc == nil && len(m.own) > 0 && m.own[0].view == vs.view.ID {
		top := vs.minRecv(vs.me)
		i := 0
		for i < len(m.own) && m.own[i].view == vs.view.ID && m.own[i].idx <= top {
			i++
		}
		m.own = m.own[i:]
	}
}
