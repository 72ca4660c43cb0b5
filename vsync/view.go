package vsync

import "sort"

/*
vstate is the data plane of one installed view.

Per sender rank r it holds the multicasts received and not yet released (held), the contiguous receive
frontier recv (for an acceptor, a SafeSend counts as received only once it is logged, so a frontier is
also a SafeSend acknowledgement), and scan, the FIFO delivery cursor for Sends. Ordering records map
order positions to Refs; delivered is the number of positions delivered.

Stability: every member piggybacks its frontier vector and delivered position on heartbeats (and sends a
sender one at once after AckEveryMsgs new messages from it, so a busy sender's MaxUnstable window is not
paced by the heartbeat interval). Message
(r, i) is released once every member's recv[r] ≥ i, it was delivered here, and, if ordered, every
member delivered its position. Records at positions every member delivered are released too. So the
memory held is the unstable window, bounded by MaxUnstable per sender.

The sequencer (rank 0) orders, per sender, indices in index order (so the total order respects each
sender's FIFO order), skipping Sends; it orders a SafeSend only once Φ acceptors' frontiers cover it.
Records are batched: everything ordered between two Ready calls leaves in one MsgOrder. A member
delivers position p only once every member reported knowing the record of p (OrderKnown, sent at once
on receipt of new records): so whatever fails, some survivor knows every position anyone delivered, the
flush extends exactly that order, and even members that crash followed the one total order.
*/
type vstate struct {
	view    View
	rank    map[string]int
	me      int
	phi     int
	senders []senderState
	peers   []peerState

	records     window[OrderRecord] // by position (Pos ≥ 1, so the zero record means none)
	entrySlab   []entry             // unused entries of the current slab (newEntry)
	unpersisted map[Tag][]Ref       // held SafeSends waiting for the log (persisted false), by tag
	orderKnown  uint64              // contiguous positions with records
	held        uint64              // contiguous positions with records and payloads (knowHeld)
	allHeld     uint64              // contiguous positions every member holds, as far as known (see knowHeld)
	toldAllHeld uint64              // sequencer: the allHeld last sent to every member
	delivered   uint64              // positions delivered
	stablePos   uint64              // records at positions ≤ stablePos were released

	nextIdx   uint64 // this member's last index sent in the view
	nextPos   uint64 // sequencer: last position assigned
	unsentPos uint64 // sequencer: positions ≤ unsentPos were sent in a MsgOrder
	lastBeat  int64
	applied   uint64 // attempt of the flush decision applied (0: none)
	// Once a flush decision was adopted, the records are the decision's: heartbeats keep advertising
	// the sequencer knowledge of that moment, and sequencer records are ignored.
	frozen                                   bool
	frozenKnown, frozenHeld, frozenDelivered uint64
	wedgeFrontier                            []uint64 // the frontier of the last flush state sent (heartbeats while wedged)
	startedAt                                int64
	// releaseDue: a heartbeat arrived (unwedged) since the last release. Release runs at most once
	// per tick (in tick), not once per heartbeat: it costs O(n) per sender holding unreleased
	// messages, up to O(n²), and a member of n receives n-1 heartbeats per interval. Deferring it to
	// the next tick only keeps stable messages held a little longer: nothing waits on a release
	// (MaxUnstable and Flush read the frontiers directly; a flush state may carry a few more stable
	// messages, which the decision already handles).
	releaseDue bool
}

type senderState struct {
	held      heldSet // received and not yet released, by index
	recv      uint64
	scan      uint64
	orderNext uint64 // sequencer: next index to consider for ordering
	stable    uint64
}

type peerState struct {
	id         string
	recv       []uint64
	delivered  uint64
	orderKnown uint64
	held       uint64
	lastHeard  int64
	lastResend int64
	toldRecv   uint64 // our receive frontier for this peer's multicasts, as last sent to it
}

// entrySlabLen is how many held entries vstate.newEntry allocates at once.
const entrySlabLen = 32

// newEntry returns a held entry (persisted) for msg's data fields. Entries are carved from slabs of
// entrySlabLen: one allocation per 32 messages instead of one per message. A slab is freed by the
// garbage collector once none of its entries is held (entries are released in index order per sender,
// so a slab outlives its oldest entry by about 32 messages).
func (vs *vstate) newEntry(msg *Message) *entry {
	if len(vs.entrySlab) == 0 {
		vs.entrySlab = make([]entry, entrySlabLen)
	}
	e := &vs.entrySlab[0] // zero: slabs are fresh
	vs.entrySlab = vs.entrySlab[1:]
	e.msg, e.persisted = heldOf(msg), true
	return e
}

// heldMsg is what a member keeps of a data message (MsgData): the fields that kind uses, without the
// per-receiver ones (To, AckReq) and the ones every held message shares (Kind MsgData, Group the
// member's). 136 bytes against a Message's 352: members hold thousands under load, and each received
// message is copied into one.
type heldMsg struct {
	From    string
	Tag     Tag
	Payload []byte
	View    uint64
	Idx     uint64
	QueryID uint64
	// Replay fields (see Message).
	RView   uint64
	RPos    uint64
	RIdx    uint64
	RBallot uint64
	RRank   int
	Flavour Flavour
	Replay  bool
}

func heldOf(msg *Message) heldMsg {
	return heldMsg{From: msg.From, Tag: msg.Tag, Payload: msg.Payload, View: msg.View, Idx: msg.Idx,
		QueryID: msg.QueryID, RView: msg.RView, RPos: msg.RPos, RIdx: msg.RIdx, RBallot: msg.RBallot,
		RRank: msg.RRank, Flavour: msg.Flavour, Replay: msg.Replay}
}

// message rebuilds the data message of group (no To, no AckReq).
func (h *heldMsg) message(group string) Message {
	return Message{Kind: MsgData, Group: group, From: h.From, Tag: h.Tag, Payload: h.Payload, View: h.View,
		Idx: h.Idx, QueryID: h.QueryID, RView: h.RView, RPos: h.RPos, RIdx: h.RIdx, RBallot: h.RBallot,
		RRank: h.RRank, Flavour: h.Flavour, Replay: h.Replay}
}

type entry struct {
	msg          heldMsg
	delivered    bool
	persisted    bool
	pos          uint64
	sentAt       int64
	markedPos    uint64 // the position of the last order marker logged for this SafeSend (0: none)
	markedBallot uint64 // and its ballot
	decided      bool   // delivered by a flush decision
}

// mark logs the order position of a logged SafeSend as soon as both are known here (the record may
// come before or after the payload), so a recovery after a total failure finds where it belongs even
// if this member crashes before delivering it. A flush decision may move a position nobody delivered
// (one only some crashed member had learned from the sequencer): the members that adopt it log its
// positions again under a higher ballot, and a recovery takes the marker with the highest ballot.
func (m *Member) mark(vs *vstate, e *entry, pos uint64) {
	if e == nil || pos == 0 || e.msg.Flavour != FlavourSafe || e.msg.Replay || m.logged[e.msg.Tag] == 0 {
		return
	}
	ballot := uint64(BallotSequencer)
	if vs.frozen {
		ballot += vs.applied // the flush decision's attempt
	}
	if e.markedPos == pos && e.markedBallot >= ballot {
		return
	}
	e.markedPos, e.markedBallot = pos, ballot
	m.out.Entries = append(m.out.Entries, LogEntry{Group: m.cfg.Group, Tag: e.msg.Tag, View: vs.view.ID, Pos: pos, Ballot: ballot})
}

func newVState(v View, self string, phiCfg int, now int64) *vstate {
	n := len(v.Members)
	phi := phiCfg
	if phi <= 0 || phi > n {
		phi = n
	}
	vs := &vstate{view: v, me: v.RankOf(self), phi: phi, records: window[OrderRecord]{lo: 1}, unpersisted: map[Tag][]Ref{}, startedAt: now, lastBeat: now,
		rank: make(map[string]int, n)}
	for i, id := range v.Members {
		vs.rank[id] = i
	}
	vs.senders = make([]senderState, n)
	vs.peers = make([]peerState, n)
	for i := range vs.senders {
		vs.senders[i] = senderState{held: heldSet{lo: 1}, orderNext: 1}
		vs.peers[i] = peerState{id: v.Members[i], recv: make([]uint64, n), lastHeard: now}
	}
	return vs
}

// rankOf returns the rank of id in the view, or -1.
func (vs *vstate) rankOf(id string) int {
	if r, ok := vs.rank[id]; ok {
		return r
	}
	return -1
}

// recvOf returns member a's receive frontier for sender r (own state for a == me).
func (vs *vstate) recvOf(a, r int) uint64 {
	if a == vs.me {
		return vs.senders[r].recv
	}
	return vs.peers[a].recv[r]
}

// minRecv is the frontier for sender r every member reached.
func (vs *vstate) minRecv(r int) uint64 {
	min := vs.senders[r].recv
	for a := range vs.peers {
		if a != vs.me && vs.peers[a].recv[r] < min {
			min = vs.peers[a].recv[r]
		}
	}
	return min
}

// countRecv counts members whose frontier for sender r covers idx.
func (vs *vstate) countRecv(r int, idx uint64) int {
	n := 0
	for a := range vs.peers {
		if vs.recvOf(a, r) >= idx {
			n++
		}
	}
	return n
}

func (vs *vstate) ref(e *entry) Ref { return Ref{Rank: vs.rankOf(e.msg.From), Idx: e.msg.Idx} }

func (vs *vstate) lookup(r Ref) *entry {
	if r.Rank < 0 || r.Rank >= len(vs.senders) {
		return nil
	}
	return vs.senders[r.Rank].held.get(r.Idx)
}

// sendData multicasts an own message in the current view and receives it locally.
func (m *Member) sendData(msg *Message) {
	vs := m.vs
	vs.nextIdx++
	msg.View = vs.view.ID
	msg.Idx = vs.nextIdx
	msg.AckReq = len(m.flushes) > 0
	if msg.Tag.Sender == m.cfg.Self {
		if i := m.ownIndex(msg.Tag.Seq); i >= 0 {
			m.own[i].view, m.own[i].idx = vs.view.ID, msg.Idx
		}
	}
	for a, id := range vs.view.Members {
		if a != vs.me {
			c := *msg
			c.To = id
			m.send(c)
		}
	}
	vs.onData(m, msg)
	if e := vs.senders[vs.me].held.get(msg.Idx); e != nil {
		e.sentAt = m.now
	}
}

// onData receives a multicast of the current view.
func (vs *vstate) onData(m *Member, msg *Message) {
	r := vs.rankOf(msg.From)
	s := &vs.senders[r]
	if msg.AckReq && r != vs.me {
		m.ackDue[msg.From] = true
	}
	if msg.Idx <= s.stable || s.held.get(msg.Idx) != nil {
		return
	}
	e := vs.newEntry(msg)
	s.held.set(msg.Idx, e)
	if msg.Flavour == FlavourSafe && vs.me < vs.phi && m.logged[msg.Tag] != logDurable {
		e.persisted = false
		vs.unpersisted[msg.Tag] = append(vs.unpersisted[msg.Tag], Ref{Rank: r, Idx: msg.Idx})
		m.logSafe(&e.msg)
	}
	if msg.Flavour == FlavourSafe && vs.orderKnown > vs.delivered {
		for p := vs.delivered + 1; p <= vs.orderKnown; p++ {
			if rec := vs.records.get(p); rec.Ref.Rank == r && rec.Ref.Idx == msg.Idx {
				m.mark(vs, e, p)
				break
			}
		}
	}
	vs.advance(m, r)
	vs.knowHeld(m, true)
}

// logSafe asks the driver to log a SafeSend (once per tag per incarnation).
func (m *Member) logSafe(msg *heldMsg) {
	if m.logged[msg.Tag] != 0 {
		return
	}
	m.logged[msg.Tag] = logQueued
	e := LogEntry{Group: m.cfg.Group, Tag: msg.Tag, Payload: append([]byte{}, msg.Payload...), Idx: msg.Idx}
	if m.vs != nil {
		e.View, e.Rank = m.vs.view.ID, m.vs.rankOf(msg.From)
	}
	if msg.Replay {
		e.View, e.Rank, e.Idx = msg.RView, msg.RRank, msg.RIdx
	}
	m.out.Entries = append(m.out.Entries, e)
	if msg.Replay && msg.RBallot != 0 {
		// A replay carries its original place: log it with the payload, as its delivery would, so a
		// later recovery by this process alone (it crashed before the replays were delivered) still
		// sorts it where it first belonged, not by (rank, index) at the end of its view. Founders may
		// send one tag with different places (a flush decision moved it: a higher ballot); a recovery
		// takes the highest ballot logged, so a process that received only a lower one before crashing
		// may still sort it where the restart view did not. That case remains open.
		m.out.Entries = append(m.out.Entries, LogEntry{Group: m.cfg.Group, Tag: msg.Tag, View: msg.RView, Pos: msg.RPos,
			Rank: msg.RRank, Idx: msg.RIdx, Ballot: msg.RBallot})
	}
}

// Log states of a tag in Member.logged.
const (
	logQueued  uint8 = 1 // handed to the driver in Ready.Entries
	logDurable uint8 = 2 // the driver called Advance: it is on disk
)

// persisted marks every held copy of a logged SafeSend durable (after Advance). (A replayed tag can be
// held twice: two founders may replay it.)
// The held copies waiting for the log are indexed by tag (unpersisted), so this costs O(copies), not a
// scan of everything held.
func (vs *vstate) persisted(m *Member, t Tag) {
	refs := vs.unpersisted[t]
	if len(refs) == 0 {
		return
	}
	delete(vs.unpersisted, t)
	if len(refs) > 1 {
		sort.Slice(refs, func(i, j int) bool { return refs[i].Rank < refs[j].Rank }) // senders in rank order
	}
	hit := refs[:0] // one ref per sender whose copy became durable, in rank order
	for _, ref := range refs {
		e := vs.lookup(ref)
		if e == nil || e.msg.Tag != t || e.persisted {
			continue
		}
		e.persisted = true
		if len(hit) == 0 || hit[len(hit)-1].Rank != ref.Rank {
			hit = append(hit, ref)
		}
	}
	for _, ref := range hit {
		vs.advance(m, ref.Rank)
		if vs.me != 0 {
			m.ackDue[vs.view.Members[0]] = true
		}
	}
}

// advance moves sender r's receive frontier and delivers what became deliverable.
func (vs *vstate) advance(m *Member, r int) {
	s := &vs.senders[r]
	moved := false
	for {
		e := s.held.get(s.recv + 1)
		if e == nil || !e.persisted {
			break
		}
		s.recv++
		moved = true
	}
	if !moved {
		return
	}
	if p := &vs.peers[r]; r != vs.me && s.recv-p.toldRecv >= uint64(m.cfg.AckEveryMsgs) {
		m.ackDue[p.id] = true // the sender's window: do not make it wait for the next heartbeat
	}
	vs.deliverSends(m, r)
	vs.order(m)
	vs.deliverOrdered(m)
	if r == vs.me {
		m.checkFlushes()
	}
}

// deliverSends delivers sender r's received Sends in index order.
func (vs *vstate) deliverSends(m *Member, r int) {
	if m.wc != nil {
		return
	}
	s := &vs.senders[r]
	for s.scan < s.recv {
		s.scan++
		if e := s.held.get(s.scan); e != nil && e.msg.Flavour == FlavourSend && !e.delivered {
			m.deliver(vs, e)
		}
	}
}

// deliverOrdered delivers ordered positions whose record and payload are here.
func (vs *vstate) deliverOrdered(m *Member) {
	if m.wc != nil {
		return
	}
	known := min(vs.orderKnown, max(vs.peersHeld(), vs.allHeld))
	for vs.delivered < known {
		rec := vs.records.get(vs.delivered + 1)
		if rec.Pos == 0 {
			return
		}
		e := vs.lookup(rec.Ref)
		if e == nil {
			return
		}
		vs.delivered++
		e.pos = rec.Pos
		if !e.delivered {
			m.deliver(vs, e)
		}
	}
}

// deliver hands a multicast to the application.
func (m *Member) deliver(vs *vstate, e *entry) {
	e.delivered = true
	if e.msg.Replay {
		msg := e.msg.message(m.cfg.Group)
		m.onReplay(vs, &msg)
		return
	}
	if m.rp != nil && e.msg.Flavour != FlavourSend {
		m.rp.post = append(m.rp.post, e)
		return
	}
	m.mark(vs, e, e.pos)
	var pos uint64
	if !e.decided && !e.msg.Replay && e.msg.Flavour != FlavourSend {
		pos = e.pos
	}
	m.event(Event{Kind: EventDeliver, Delivery: Delivery{Tag: e.msg.Tag, Flavour: e.msg.Flavour, ViewID: vs.view.ID,
		Payload: e.msg.Payload, QueryID: e.msg.QueryID, Replayed: e.msg.Replay, Decided: e.decided, Pos: pos}})
}

// order is the sequencer: it assigns positions to what it may order.
func (vs *vstate) order(m *Member) {
	if vs.me != 0 || m.wc != nil {
		return
	}
	for r := range vs.senders {
		s := &vs.senders[r]
		for s.orderNext <= s.recv {
			e := s.held.get(s.orderNext)
			if e == nil || e.msg.Flavour == FlavourSend || e.pos != 0 {
				s.orderNext++
				continue
			}
			if e.msg.Flavour == FlavourSafe && !vs.phiAcked(r, s.orderNext) {
				break
			}
			vs.nextPos++
			e.pos = vs.nextPos
			m.mark(vs, e, e.pos)
			vs.records.set(vs.nextPos, OrderRecord{Pos: vs.nextPos, Ref: Ref{Rank: r, Idx: s.orderNext}})
			s.orderNext++
		}
	}
	vs.knowRecords()
	vs.knowHeld(m, false) // the records' MsgOrder tells every member (onOrder)
}

// phiAcked reports whether Φ acceptors' frontiers cover (r, idx).
func (vs *vstate) phiAcked(r int, idx uint64) bool {
	n := 0
	for a := 0; a < vs.phi; a++ {
		if vs.recvOf(a, r) >= idx {
			n++
		}
	}
	return n >= vs.phi
}

func (vs *vstate) knowRecords() {
	for {
		if !vs.records.has(vs.orderKnown + 1) {
			return
		}
		vs.orderKnown++
	}
}

/*
knowHeld advances held, the contiguous positions whose record and payload this member holds (or that it
delivered). Members gate delivery on every member holding the position, not on its record alone: so
when any member delivers p, every member of the view holds p's payload, and an application may
acknowledge a write at its own delivery (uniform: no survivor of any failure lacks what anyone
delivered). held ≤ orderKnown.

Who learns a member's held, and when (the relay through the sequencer):
  - when it moved (tell), the member tells at once (a short heartbeat, see flushOutputs) the sequencer
    and the senders of the positions that became held: a sender acknowledging at its own delivery
    learns from each member directly, one hop after the member received what it lacked;
  - the sequencer computes allHeld, the minimum of every member's held, and relays it on every MsgOrder
    and heartbeat, and in a short heartbeat to every member once its driver is idle (FlushDeferred), so
    the other members learn it without telling each other (one message per member and position where
    telling everyone took one per pair);
  - full heartbeats still carry Held to everyone, so delivery never depends on the relay alone.

A member's allHeld is the largest AllHeld the sequencer of its view sent (the sequencer's own is the
minimum it computed): every member held at least that much when it was sent, so the delivery gate
min(orderKnown, max(allHeld, min over peers of held)) never admits a position some member lacks.
The sequencer does not tell (tell false): it orders only what it holds, and its MsgOrder says so.
*/
func (vs *vstate) knowHeld(m *Member, tell bool) {
	before := vs.held
	for vs.held < vs.orderKnown {
		p := vs.held + 1
		if p > vs.delivered && vs.lookup(vs.records.get(p).Ref) == nil {
			break
		}
		vs.held = p
	}
	if vs.held == before {
		return
	}
	vs.noteAllHeld()
	if !tell || vs.frozen {
		return
	}
	vs.tellHeld(m, 0)
	last := 0 // runs of one sender's positions mark it once
	for p := before + 1; p <= vs.held; p++ {
		if r := vs.records.get(p).Ref.Rank; r != last {
			vs.tellHeld(m, r)
			last = r
		}
	}
}

// tellHeld makes a short heartbeat to the member of rank a due (unless a full one is).
func (vs *vstate) tellHeld(m *Member, a int) {
	if a == vs.me || a < 0 || a >= len(vs.view.Members) {
		return
	}
	if id := vs.view.Members[a]; !m.ackDue[id] {
		m.knownDue[id] = true
	}
}

// peersHeld returns the minimum held the other members reported (orderKnown if there are none).
func (vs *vstate) peersHeld() uint64 {
	known := vs.orderKnown
	for a := range vs.peers {
		if a != vs.me {
			known = min(known, vs.peers[a].held)
		}
	}
	return known
}

// noteAllHeld recomputes the sequencer's allHeld from its own and every member's reported held.
func (vs *vstate) noteAllHeld() {
	if vs.me != 0 {
		return
	}
	vs.allHeld = max(vs.allHeld, min(vs.held, vs.peersHeld()))
}

// relayDue reports whether the sequencer has an allHeld that not every member was sent yet.
func (vs *vstate) relayDue(m *Member) bool {
	return vs.me == 0 && !vs.frozen && m.wc == nil && vs.allHeld > vs.toldAllHeld
}

// flushOrder sends the sequencer's new records in batches.
func (vs *vstate) flushOrder(m *Member) {
	if vs.me != 0 {
		return
	}
	for vs.unsentPos < vs.nextPos {
		first := vs.unsentPos + 1
		last := vs.nextPos
		if last-first+1 > uint64(m.cfg.OrderBatchMax) {
			last = first + uint64(m.cfg.OrderBatchMax) - 1
		}
		vs.broadcast(m, vs.orderMsg(m, first, last))
		vs.toldAllHeld = max(vs.toldAllHeld, vs.allHeld)
		vs.unsentPos = last
	}
}

func (vs *vstate) orderMsg(m *Member, first, last uint64) Message {
	msg := Message{Kind: MsgOrder, Group: m.cfg.Group, From: m.cfg.Self, View: vs.view.ID, Pos: first,
		AllHeld: vs.relayedAllHeld()}
	for p := first; p <= last; p++ {
		msg.Refs = append(msg.Refs, vs.records.get(p).Ref)
	}
	return msg
}

func (vs *vstate) broadcast(m *Member, msg Message) {
	for a, id := range vs.view.Members {
		if a != vs.me {
			c := msg
			c.To = id
			m.send(c)
		}
	}
}

// onOrder receives sequencer records.
func (vs *vstate) onOrder(m *Member, msg *Message) {
	if vs.frozen {
		return // the order of this view is a flush decision's now
	}
	if vs.rankOf(msg.From) != 0 {
		return
	}
	for i, r := range msg.Refs {
		p := msg.Pos + uint64(i)
		if p <= vs.stablePos {
			continue
		}
		if !vs.records.has(p) {
			vs.records.set(p, OrderRecord{Pos: p, Ref: r})
		}
	}
	before := vs.orderKnown
	vs.knowRecords()
	// Order markers only for the contiguous known prefix: a log that knows position q then knows every
	// position before it, so an entry it has no position for belongs after all it knows (replay.go).
	for p := before + 1; p <= vs.orderKnown; p++ {
		m.mark(vs, vs.lookup(vs.records.get(p).Ref), p)
	}
	if last := msg.Pos + uint64(len(msg.Refs)) - 1; len(msg.Refs) > 0 && last > vs.peers[0].orderKnown {
		// The sequencer orders only what it received: it holds every payload it ordered.
		vs.peers[0].orderKnown = last
		vs.peers[0].held = max(vs.peers[0].held, last)
	}
	vs.allHeld = max(vs.allHeld, msg.AllHeld)
	// Everyone must know a position, and hold its payload, before anyone delivers it (so a flush after
	// any failures still finds every delivered position and payload at every survivor): knowHeld tells
	// the sequencer and the positions' senders at once, and the sequencer relays AllHeld.
	vs.knowHeld(m, true)
	vs.deliverOrdered(m)
}

// heartbeat builds a heartbeat (frontiers) for peer to.
func (vs *vstate) heartbeat(m *Member, to string, ackReq bool) Message {
	fr := make([]uint64, len(vs.senders))
	for r := range vs.senders {
		fr[r] = vs.senders[r].recv
	}
	if m.wc != nil && vs.wedgeFrontier != nil {
		// While wedged, advertise only what the flush state sent to the coordinator holds: a member
		// that has not wedged yet must not count a receipt the flush decision may not include.
		copy(fr, vs.wedgeFrontier)
	}
	known, held, delivered := vs.orderKnown, vs.held, vs.delivered
	if vs.frozen {
		// After adopting a flush decision this member's records are the decision's, not the
		// sequencer's: a member that has not wedged yet must not take them for sequencer knowledge.
		known, held, delivered = vs.frozenKnown, vs.frozenHeld, vs.frozenDelivered
	}
	if a := vs.rankOf(to); a >= 0 && a != vs.me {
		vs.peers[a].toldRecv = fr[a]
	}
	return Message{Kind: MsgHeartbeat, Group: m.cfg.Group, From: m.cfg.Self, To: to, View: vs.view.ID,
		Frontier: fr, Delivered: delivered, OrderKnown: known, Held: held, AllHeld: vs.relayedAllHeld(), AckReq: ackReq}
}

// relayedAllHeld is the AllHeld this member's messages carry: the sequencer's allHeld, 0 elsewhere and
// once frozen (a flush decision's records are not the sequencer's).
func (vs *vstate) relayedAllHeld() uint64 {
	if vs.me != 0 || vs.frozen {
		return 0
	}
	return vs.allHeld
}

// knownBeat is the short heartbeat that only says which records this member knows (no frontiers).
func (vs *vstate) knownBeat(m *Member, to string) Message {
	known, held, delivered := vs.orderKnown, vs.held, vs.delivered
	if vs.frozen {
		known, held, delivered = vs.frozenKnown, vs.frozenHeld, vs.frozenDelivered
	}
	return Message{Kind: MsgHeartbeat, Group: m.cfg.Group, From: m.cfg.Self, To: to, View: vs.view.ID,
		Delivered: delivered, OrderKnown: known, Held: held, AllHeld: vs.relayedAllHeld()}
}

// onHeartbeat records a peer's frontiers, retransmits what it lacks, and makes a release due.
func (vs *vstate) onHeartbeat(m *Member, a int, msg *Message) {
	p := &vs.peers[a]
	if len(msg.Frontier) == len(vs.senders) {
		for r, f := range msg.Frontier {
			if f > p.recv[r] {
				p.recv[r] = f
			}
		}
	}
	if msg.Delivered > p.delivered {
		p.delivered = msg.Delivered
	}
	if msg.OrderKnown > p.orderKnown {
		p.orderKnown = msg.OrderKnown
	}
	if msg.Held > p.held {
		p.held = msg.Held
	}
	if a == 0 && !vs.frozen {
		vs.allHeld = max(vs.allHeld, msg.AllHeld)
	}
	vs.noteAllHeld()
	if msg.AckReq {
		m.ackDue[msg.From] = true
	}
	if m.wc != nil {
		return
	}
	vs.retransmit(m, a, len(msg.Frontier) == len(vs.senders))
	vs.order(m)
	vs.deliverOrdered(m)
	vs.releaseDue = true
	m.checkFlushes()
}

// retransmit resends to peer a own messages and (sequencer) records it lacks, at most once per
// RetransmitTicks and only for messages at least RetransmitTicks old. Own messages are resent only on
// a heartbeat that carried frontiers (fresh): a short "records known" heartbeat carries none, and the
// frontier last heard from a can be a whole heartbeat interval old, so resending on it would resend,
// to every member after every ordering batch, each message sent since a's last full heartbeat.
func (vs *vstate) retransmit(m *Member, a int, fresh bool) {
	p := &vs.peers[a]
	if m.now-p.lastResend < int64(m.cfg.RetransmitTicks) {
		return
	}
	sent := 0
	me := &vs.senders[vs.me]
	for idx := p.recv[vs.me] + 1; fresh && idx <= vs.nextIdx && sent < m.cfg.RetransmitBatch; idx++ {
		e := me.held.get(idx)
		if e == nil || m.now-e.sentAt < int64(m.cfg.RetransmitTicks) {
			break
		}
		c := e.msg.message(m.cfg.Group)
		c.To = p.id
		m.send(c)
		sent++
	}
	if vs.me == 0 && p.orderKnown < vs.unsentPos && m.now-vs.startedAt >= int64(m.cfg.RetransmitTicks) {
		first := p.orderKnown + 1
		if first <= vs.stablePos {
			first = vs.stablePos + 1
		}
		last := vs.unsentPos
		if last-first+1 > uint64(m.cfg.OrderBatchMax) {
			last = first + uint64(m.cfg.OrderBatchMax) - 1
		}
		if first <= last {
			msg := vs.orderMsg(m, first, last)
			msg.To = p.id
			m.send(msg)
			sent++
		}
	}
	if sent > 0 {
		p.lastResend = m.now
	}
}

// release frees messages and records that every member received and delivered.
func (vs *vstate) release(m *Member) {
	minDel := vs.delivered
	for a := range vs.peers {
		if a != vs.me && vs.peers[a].delivered < minDel {
			minDel = vs.peers[a].delivered
		}
	}
	for r := range vs.senders {
		s := &vs.senders[r]
		if s.stable >= s.recv {
			continue // nothing held beyond what is already released
		}
		top := vs.minRecv(r)
		for s.stable < top {
			e := s.held.get(s.stable + 1)
			if e != nil {
				if !e.delivered || (e.msg.Flavour != FlavourSend && (e.pos == 0 || e.pos > minDel)) {
					break
				}
			}
			s.stable++
		}
		s.held.trim(s.stable + 1)
	}
	for vs.stablePos < minDel && vs.stablePos < vs.delivered {
		vs.stablePos++
	}
	vs.records.trim(vs.stablePos + 1)
}

// tick releases what became stable (releaseDue), sends heartbeats and suspects silent peers.
func (vs *vstate) tick(m *Member) {
	if vs.releaseDue && m.wc == nil {
		vs.releaseDue = false
		vs.release(m)
	}
	if m.now-vs.lastBeat >= int64(m.cfg.HeartbeatTicks) {
		vs.lastBeat = m.now
		ackReq := len(m.flushes) > 0
		for a, id := range vs.view.Members {
			if a != vs.me {
				m.send(vs.heartbeat(m, id, ackReq))
			}
		}
		if m.wc != nil {
			for _, j := range m.wc.change.Joiners {
				m.send(vs.heartbeat(m, j, false))
			}
		}
	}
	for a := range vs.peers {
		if a != vs.me && m.now-vs.peers[a].lastHeard > int64(m.cfg.SuspectTicks) {
			if m.wc == nil || contains(m.wc.change.Next, vs.peers[a].id) {
				m.suspect(vs.peers[a].id)
			}
		}
	}
}

// state is this member's flush state for the coordinator.
func (vs *vstate) state(group string) *FlushState {
	st := &FlushState{Recv: make([]uint64, len(vs.senders)), Delivered: vs.delivered, Applied: vs.applied}
	for r := range vs.senders {
		s := &vs.senders[r]
		st.Recv[r] = s.recv
		if !vs.frozen {
			if vs.wedgeFrontier == nil {
				vs.wedgeFrontier = make([]uint64, len(vs.senders))
			}
			vs.wedgeFrontier[r] = s.recv
		}
		for _, idx := range s.held.keys() {
			msg := s.held.get(idx).msg.message(group)
			st.Msgs = append(st.Msgs, &msg)
		}
	}
	for _, p := range vs.records.keys() {
		st.Records = append(st.Records, vs.records.get(p))
	}
	// A held message whose record was already released (every member delivered its position) still
	// says where it was: without it the coordinator would take it for an unordered message.
	for r := range vs.senders {
		for _, idx := range vs.senders[r].held.keys() {
			if e := vs.senders[r].held.get(idx); e.pos != 0 {
				if !vs.records.has(e.pos) {
					st.Records = append(st.Records, OrderRecord{Pos: e.pos, Ref: Ref{Rank: r, Idx: idx}})
				}
			}
		}
	}
	return st
}
