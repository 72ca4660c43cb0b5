package vsync

import (
	"fmt"
	"sort"
)

// phase is the life stage of a Member.
type phase uint8

const (
	phaseIdle    phase = iota // created, Join not called
	phaseJoining              // asked the membership service to join; no view yet
	phaseMember               // installed a view (possibly wedged for a view change)
	phaseStopped              // left, firewalled or partitioned; terminal
)

// Reply counts for Query.
const (
	ReplyAll      = -1 // every member of the view at send time that does not fail
	ReplyMajority = -2 // ⌊n/2⌋+1 real replies of the n members of the view at send time
)

/*
Member is one process's membership in one group: a pure, deterministic state machine. The driver feeds
it messages (Step) and time (Tick), calls proposals, and executes Ready in order, then Advance.

Invariants (checked by the simulator's history checkers):
  - Views are installed in id order, each one only as decided by the membership service.
  - A multicast is delivered in the view it was sent in, and only from a member of that view.
  - While wedged (a change of the current view is in progress) nothing is delivered except what the
    coordinator's flush decision lists; new multicasts queue (MaxPending).
  - Send: per sender, delivered in index order once every lower index was received.
  - OrderedSend/SafeSend: delivered in the sequencer's (rank 0's) order, or the flush decision's.
  - SafeSend: acceptors (ranks < Φ) log before their receive frontier covers it; the sequencer orders it
    only once Φ acceptors' frontiers cover it; a member that delivers an unlogged SafeSend in a flush
    logs it first.
*/
type Member struct {
	cfg   Config
	now   int64
	phase phase

	leaving bool
	seq     uint64       // last Tag.Seq assigned to this member's multicasts
	rec     *GroupRecord // newest record heard from the membership service
	vs      *vstate      // the installed view; nil before the first install
	wc      *wedge       // the view change in progress, if any
	join    *joinState   // a joiner's state transfer
	pending []*Message   // multicasts waiting for a view (joining or wedged)
	future  []Message    // messages for views not installed yet

	own      []ownMsg // own multicasts not yet known stable everywhere, by Seq
	flushes  []*flushReq
	nextID   uint64 // ids for Flush requests
	queries  map[uint64]*query
	queryIDs []uint64 // the keys of queries, sorted (deterministic iteration)
	p2p      map[string]*p2pPeer

	lastLease   int64
	isolated    bool // the lease ran out (no leader heard for OracleLeaseTicks); see Tick
	lastSync    int64
	lastSuspect map[string]int64

	replayLog []LogEntry      // SafeSend log of earlier incarnations, for a restart view
	rp        *replayState    // a restart view's recovery in progress
	replayed  map[Tag]bool    // replayed tags delivered (duplicate suppression)
	logged    map[Tag]uint8   // tags this incarnation logged: logQueued, then logDurable
	ackDue    map[string]bool // peers owed a heartbeat with frontiers at the next Ready
	knownDue  map[string]bool // peers owed a short "records known" heartbeat (no frontiers)
	out       Ready
	// The Messages and Events arrays of the Ready handed out last, reused by the next Ready (double
	// buffering: the driver may still be reading one while the member fills the other).
	spareMsgs   []Message
	spareEvents []Event
	heavyAt     int64 // tick of the last Ready with more than smallRecycled messages or events
}

// ownMsg is one of this member's multicasts: View 0 while it is queued.
//
// Member.own is sorted by seq (multicast appends with increasing seqs; entries are only removed) and
// the entries sent in the current view come first, with increasing idx, followed by the queued ones
// (view 0): install drops every entry sent in an earlier view and sends the queued ones in seq order,
// and while the view is usable a multicast is sent at once. So lookups by seq are binary searches and
// the entries stable everywhere are a prefix.
type ownMsg struct {
	seq  uint64
	view uint64
	idx  uint64
}

// ownIndex returns the index in m.own of the entry for seq, or -1.
func (m *Member) ownIndex(seq uint64) int {
	i := sort.Search(len(m.own), func(i int) bool { return m.own[i].seq >= seq })
	if i < len(m.own) && m.own[i].seq == seq {
		return i
	}
	return -1
}

// flushReq is one Flush(k) in progress.
type flushReq struct {
	id   uint64
	k    int
	seqs []uint64
}

// NewMember returns a Member for cfg (defaults applied) or the config problems.
func NewMember(cfg Config) (*Member, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Member{
		cfg:         cfg,
		queries:     map[uint64]*query{},
		p2p:         map[string]*p2pPeer{},
		lastSuspect: map[string]int64{},
		replayed:    map[Tag]bool{},
		logged:      map[Tag]uint8{},
		ackDue:      map[string]bool{},
		knownDue:    map[string]bool{},
	}
	if cfg.Storage != nil {
		ents, err := cfg.Storage.Entries()
		if err != nil {
			return nil, fmt.Errorf("vsync: reading the SafeSend log: %w", err)
		}
		for _, e := range ents {
			if e.Group == cfg.Group {
				m.replayLog = append(m.replayLog, e)
			}
		}
	}
	return m, nil
}

// ID returns the member's identity.
func (m *Member) ID() string { return m.cfg.Self }

// Now returns the member's tick count.
func (m *Member) Now() int64 { return m.now }

// View returns the installed view (zero before the first install).
func (m *Member) View() View {
	if m.vs == nil {
		return View{}
	}
	return m.vs.view
}

// Stopped reports whether the member has stopped.
func (m *Member) Stopped() bool { return m.phase == phaseStopped }

// Wedged reports whether a view change is in progress.
func (m *Member) Wedged() bool { return m.wc != nil }

/*
ReadIndex is what a linearizable read served from this member's own state must wait for: until the
member delivered ordered position pos of view viewID (or installed a later view), or, when ok is false
(a view change in progress, or no view yet), until it installed a later view.

Why it suffices: a member delivers a position (outside a flush) only after every member of the view
reported holding its record and payload (Message.Held), and a member's held count never exceeds pos.
So a write that any member delivered before the read began is at a position ≤ pos. A flush decision
(Delivery.Decided) may deliver positions this member did not report, but only after every survivor
wedged, and a wedged member reports ok false. The driver must read the index after a Step or Tick and
before it sends that Ready's messages: a report that left already is covered.
*/
func (m *Member) ReadIndex() (viewID, pos uint64, ok bool) {
	if m.vs == nil {
		return 0, 0, false
	}
	return m.vs.view.ID, m.vs.held, m.wc == nil && m.phase == phaseMember
}

// Isolated reports whether the member's lease with the membership service ran out and was not renewed
// since: the service may have installed a view without it, so it must not answer anything from its
// own state alone (local reads). EventLease reports each change.
func (m *Member) Isolated() bool { return m.isolated }

// Join asks the membership service to add this member; the first member of a group creates it. The
// view is installed (after state transfer) when the service commits it.
func (m *Member) Join() error {
	if m.phase != phaseIdle {
		return fmt.Errorf("%w: join called twice", ErrBusy)
	}
	m.phase = phaseJoining
	m.join = &joinState{}
	m.lastSync = m.now - int64(m.cfg.OracleSyncTicks) // ask at once
	m.syncOracle()
	return nil
}

// Leave asks the membership service to remove this member; EventStopped(ErrLeft) follows.
func (m *Member) Leave() error {
	if m.phase == phaseStopped {
		return ErrStopped
	}
	m.leaving = true
	m.oracle(OpLeave, "", 0, 0)
	return nil
}

// ReportFailure reports target as failed (the application's failure report; trusted).
func (m *Member) ReportFailure(target string) {
	if m.phase == phaseStopped {
		return
	}
	m.oracle(OpSuspect, target, 0, 0)
}

// Send multicasts payload FIFO per sender. It returns the message's sequence number.
func (m *Member) Send(payload []byte) (uint64, error) {
	return m.multicast(FlavourSend, payload, false)
}

// OrderedSend multicasts payload in the group's total order.
func (m *Member) OrderedSend(payload []byte) (uint64, error) {
	return m.multicast(FlavourOrdered, payload, false)
}

// SafeSend multicasts payload in the total order, delivered only after Φ acceptors logged it.
func (m *Member) SafeSend(payload []byte) (uint64, error) {
	return m.multicast(FlavourSafe, payload, false)
}

// Query multicasts payload with flavour fl and collects replies: want is ReplyAll, ReplyMajority or a
// count k > 0; timeoutTicks 0 means QueryTimeoutTicks (missing replies then count as null replies).
// EventQueryDone reports the result under the returned id.
func (m *Member) Query(fl Flavour, payload []byte, want int, timeoutTicks int) (uint64, error) {
	if want == 0 || want < ReplyMajority {
		return 0, fmt.Errorf("vsync: query wants %d replies: %w", want, ErrConfig)
	}
	if len(m.queries) >= m.cfg.MaxQueries {
		return 0, ErrBackpressure
	}
	seq, err := m.multicast(fl, payload, true)
	if err != nil {
		return 0, err
	}
	if timeoutTicks <= 0 {
		timeoutTicks = m.cfg.QueryTimeoutTicks
	}
	q := &query{id: seq, want: want, deadline: m.now + int64(timeoutTicks), replied: map[string]bool{}}
	if m.vs != nil && m.wc == nil {
		q.targets = append([]string(nil), m.vs.view.Members...)
	}
	m.addQuery(q)
	m.checkQueries()
	return seq, nil
}

// Flush waits (EventFlushDone) until this member's earlier multicasts are stable at every member
// (k = 0) or have reached k members counting the sender. It returns the flush id.
func (m *Member) Flush(k int) (uint64, error) {
	if m.phase != phaseMember && m.phase != phaseJoining {
		return 0, ErrNotMember
	}
	if k < 0 {
		return 0, fmt.Errorf("vsync: Flush(%d): %w", k, ErrConfig)
	}
	m.nextID++
	f := &flushReq{id: m.nextID, k: k}
	for _, o := range m.own {
		f.seqs = append(f.seqs, o.seq)
	}
	m.flushes = append(m.flushes, f)
	m.checkFlushes()
	return f.id, nil
}

// multicast assigns a sequence number and sends now, or queues while there is no usable view.
func (m *Member) multicast(fl Flavour, payload []byte, isQuery bool) (uint64, error) {
	switch m.phase {
	case phaseStopped:
		return 0, ErrStopped
	case phaseIdle:
		return 0, ErrNotMember
	}
	if len(payload) > m.cfg.MaxPayloadBytes {
		return 0, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(payload), m.cfg.MaxPayloadBytes)
	}
	usable := m.phase == phaseMember && m.wc == nil
	if !usable && len(m.pending) >= m.cfg.MaxPending {
		return 0, ErrBackpressure
	}
	if usable && m.unstableOwn() >= m.cfg.MaxUnstable {
		return 0, ErrBackpressure
	}
	m.seq++
	msg := Message{Kind: MsgData, Group: m.cfg.Group, From: m.cfg.Self, Tag: Tag{Sender: m.cfg.Self, Seq: m.seq},
		Flavour: fl, Payload: append([]byte(nil), payload...)}
	if isQuery {
		msg.QueryID = m.seq
	}
	m.own = append(m.own, ownMsg{seq: m.seq})
	if usable {
		m.sendData(&msg) // copies what it keeps: msg need not live on the heap
	} else {
		pend := msg
		m.pending = append(m.pending, &pend)
	}
	return m.seq, nil
}

// unstableOwn counts own multicasts of the current view not yet received by every member.
func (m *Member) unstableOwn() int {
	if m.vs == nil {
		return 0
	}
	return int(m.vs.nextIdx - m.vs.minRecv(m.vs.me))
}

// send queues a message for the driver.
func (m *Member) send(msg Message) {
	if msg.To == m.cfg.Self {
		panic("vsync: message to self")
	}
	m.out.Messages = append(m.out.Messages, msg)
}

// event queues an application event.
func (m *Member) event(e Event) {
	if len(m.out.Events) == cap(m.out.Events) {
		// Double (append grows large arrays by about a quarter): a burst of deliveries reaches its
		// high-water mark in a few large allocations, not a dozen (see recycle).
		m.out.Events = append(make([]Event, 0, max(2*cap(m.out.Events), 64)), m.out.Events...)
	}
	m.out.Events = append(m.out.Events, e)
}

// stop ends the member: it answers nothing any more and must rejoin as a new incarnation.
func (m *Member) stop(err error) {
	if m.phase == phaseStopped {
		return
	}
	m.phase = phaseStopped
	m.wc = nil
	m.event(Event{Kind: EventStopped, Err: err})
}

// HasReady reports whether Ready has something to do.
func (m *Member) HasReady() bool {
	m.flushOutputs()
	return !m.out.IsEmpty()
}

// Ready returns what to persist, send and deliver; call Advance after executing it. Its Messages and
// Events slices are valid until the next call of Ready, which reuses their arrays (copy what must live
// longer; the messages' and events' own contents, e.g. payloads, are never reused).
func (m *Member) Ready() Ready {
	m.flushOutputs()
	rd := m.out
	if len(rd.Messages) > smallRecycled || len(rd.Events) > smallRecycled {
		m.heavyAt = m.now
	}
	keep := m.now-m.heavyAt < keepLargeTicks
	m.out = Ready{Messages: recycle(m.spareMsgs, keep), Events: recycle(m.spareEvents, keep)}
	m.spareMsgs, m.spareEvents = rd.Messages, rd.Events
	return rd
}

// Reuse of Ready arrays: an array of up to smallRecycled elements is always kept; a larger one (a
// burst of deliveries) only until no Ready had more than smallRecycled messages or events for
// keepLargeTicks, so under load the arrays stay at their high-water mark (no growslice copies per
// Ready) and some time after the load they are let go.
const (
	smallRecycled  = 256
	keepLargeTicks = 100
)

// recycle returns s emptied, its old elements zeroed (so they pin nothing), or nil for a large array
// that is not to be kept.
func recycle[T any](s []T, keepLarge bool) []T {
	if cap(s) > smallRecycled && !keepLarge {
		return nil
	}
	clear(s)
	return s[:0]
}

// flushOutputs turns batched state (ordering records, acknowledgements) into messages.
func (m *Member) flushOutputs() {
	if m.phase == phaseStopped {
		return
	}
	if m.vs != nil {
		m.vs.flushOrder(m)
		if len(m.ackDue) > 0 || len(m.knownDue) > 0 {
			// In rank order, so the sequencer (rank 0), which relays what it learns, hears first.
			for _, p := range m.vs.view.Members {
				switch {
				case m.ackDue[p]:
					m.send(m.vs.heartbeat(m, p, false))
				case m.knownDue[p]: // a full heartbeat says what the short one would
					m.send(m.vs.knownBeat(m, p))
				}
			}
			clear(m.knownDue)
		}
		clear(m.ackDue)
	}
}

// HasDeferred reports whether the member holds back output to batch it with later messages: the
// sequencer's relay of AllHeld (view.go, knowHeld), which rides on its next MsgOrder or heartbeat.
func (m *Member) HasDeferred() bool {
	return m.phase == phaseMember && m.vs != nil && m.vs.relayDue(m)
}

// FlushDeferred sends what the member holds back (HasDeferred) at the next Ready. A driver calls it when
// it has no input waiting, so an idle group's members deliver without waiting for a heartbeat; one that
// never calls it is correct too, only the members other than the sequencer then deliver later.
func (m *Member) FlushDeferred() {
	if !m.HasDeferred() {
		return
	}
	vs := m.vs
	for a := range vs.view.Members {
		vs.tellHeld(m, a)
	}
	vs.toldAllHeld = vs.allHeld
}

// Advance tells the member that rd was executed: its Entries are durable.
func (m *Member) Advance(rd Ready) {
	if len(rd.Entries) == 0 || m.phase == phaseStopped || m.vs == nil {
		return
	}
	for _, e := range rd.Entries {
		if e.Payload == nil {
			continue
		}
		m.logged[e.Tag] = logDurable
		m.vs.persisted(m, e.Tag)
	}
}

// Tick advances time by one tick.
func (m *Member) Tick() {
	m.now++
	switch m.phase {
	case phaseJoining:
		m.syncOracle()
		m.tickJoin()
	case phaseMember:
		silent := m.now - m.lastLease
		if silent > int64(m.cfg.OracleStopTicks) {
			m.stop(ErrPartitioned)
			return
		}
		if silent > int64(m.cfg.OracleLeaseTicks) && !m.isolated {
			m.isolated = true
			m.event(Event{Kind: EventLease, Isolated: true})
		}
		m.syncOracle()
		m.vs.tick(m)
		if m.wc != nil {
			m.tickWedge()
		}
		m.tickP2P()
		m.checkQueries()
	}
}

// syncOracle polls the membership service every OracleSyncTicks (also a lease renewal and, while
// joining or leaving, the retransmission of that request).
func (m *Member) syncOracle() {
	if m.now-m.lastSync < int64(m.cfg.OracleSyncTicks) {
		return
	}
	m.lastSync = m.now
	op := OpSync
	if m.phase == phaseJoining {
		op = OpJoin
	}
	if m.leaving {
		op = OpLeave
	}
	m.oracle(op, "", 0, 0)
}

// oracle sends a request to every membership replica.
func (m *Member) oracle(op OracleOp, target string, view, attempt uint64) {
	req := &OracleRequest{Op: op, Group: m.cfg.Group, Member: m.cfg.Self, Target: target, View: view, Attempt: attempt}
	for _, addr := range m.cfg.Oracle {
		r := *req
		m.send(Message{Kind: MsgOracleRequest, Group: m.cfg.Group, From: m.cfg.Self, To: addr, Req: &r})
	}
}

// suspect reports target, at most once per OracleSyncTicks.
func (m *Member) suspect(target string) {
	if last, ok := m.lastSuspect[target]; ok && m.now-last < int64(m.cfg.OracleSyncTicks) {
		return
	}
	m.lastSuspect[target] = m.now
	m.oracle(OpSuspect, target, 0, 0)
}

// Step feeds one received message to the member.
func (m *Member) Step(msg Message) {
	if m.phase == phaseStopped || m.phase == phaseIdle || msg.Group != m.cfg.Group {
		return
	}
	switch msg.Kind {
	case MsgOracleUpdate:
		if msg.Record != nil {
			m.onRecord(msg.Record, msg.Leader)
		}
		return
	case MsgPoison:
		if contains(m.cfg.Oracle, msg.From) || m.vs != nil && msg.View > m.vs.view.ID {
			m.stop(ErrFirewalled)
		}
		return
	case MsgStateChunk:
		m.onStateChunk(msg)
		return
	case MsgP2P, MsgP2PAck:
		m.onP2P(msg)
		return
	}
	if m.vs == nil {
		if m.phase == phaseJoining && msg.Kind == MsgHeartbeat {
			m.onCoordPing(msg)
		}
		return
	}
	if msg.View > m.vs.view.ID {
		if (msg.Kind == MsgData || msg.Kind == MsgOrder) && len(m.future) < m.cfg.MaxPending {
			m.future = append(m.future, msg)
		}
		return
	}
	if msg.View < m.vs.view.ID {
		if m.vs.rankOf(msg.From) < 0 && (m.wc == nil || !contains(m.wc.change.Next, msg.From)) {
			m.send(Message{Kind: MsgPoison, Group: m.cfg.Group, From: m.cfg.Self, To: msg.From, View: m.vs.view.ID})
		}
		return
	}
	rank := m.vs.rankOf(msg.From)
	if rank < 0 {
		// A joiner of the change in progress talks to the coordinator; everyone else is firewalled.
		// Every joiner's heartbeat is answered (joiners of later changes watch the coordinator too).
		m.onJoinerPing(msg)
		if m.wc != nil && contains(m.wc.change.Joiners, msg.From) {
			m.onJoinerMsg(msg)
		}
		return
	}
	m.vs.peers[rank].lastHeard = m.now
	switch msg.Kind {
	case MsgData:
		m.vs.onData(m, &msg)
	case MsgOrder:
		m.vs.onOrder(m, &msg)
	case MsgHeartbeat:
		m.vs.onHeartbeat(m, rank, &msg)
	case MsgFlushState:
		m.onFlushState(msg)
	case MsgFlushDecision:
		m.onDecision(msg)
	case MsgFlushAck:
		m.onFlushAck(msg)
	}
}

// contains reports whether s holds x.
func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
