package vsync

import (
	"fmt"
	"slices"
)

/*
Queries. A query is a multicast (any flavour) with QueryID = its sequence number; every member delivers
it and answers through the reliable point-to-point channel with Reply, NullReply or AbortReply. The
querier counts real replies against the view at send time: ALL waits for an answer (real or null) from
every member of that view still in the current view (a member that fails stops being waited for),
MAJORITY for ⌊n/2⌋+1 real replies, k for k real ones (or until everyone answered). A timeout ends the
query with what arrived (missing replies count as null replies); an AbortReply ends it at once.
*/
type query struct {
	id       uint64
	want     int
	targets  []string // nil until the query leaves in a view
	deadline int64
	replied  map[string]bool
	replies  []QueryReply
	p2p      bool
}

func (m *Member) addQuery(q *query) {
	m.queries[q.id] = q
	i, _ := slices.BinarySearch(m.queryIDs, q.id)
	m.queryIDs = slices.Insert(m.queryIDs, i, q.id)
}

func (m *Member) finishQuery(q *query, res QueryResult) {
	delete(m.queries, q.id)
	if i, ok := slices.BinarySearch(m.queryIDs, q.id); ok {
		m.queryIDs = slices.Delete(m.queryIDs, i, i+1)
	}
	res.ID = q.id
	res.Replies = q.replies
	m.event(Event{Kind: EventQueryDone, Query: res})
}

// Reply answers query id of querier with payload.
func (m *Member) Reply(querier string, id uint64, payload []byte) error {
	return m.reply(querier, id, ReplyValue, payload, "")
}

// NullReply answers query id of querier with no value (not counted).
func (m *Member) NullReply(querier string, id uint64) error {
	return m.reply(querier, id, ReplyNull, nil, "")
}

// AbortReply makes query id of querier fail at once with reason.
func (m *Member) AbortReply(querier string, id uint64, reason string) error {
	return m.reply(querier, id, ReplyAbort, nil, reason)
}

func (m *Member) reply(querier string, id uint64, kind ReplyKind, payload []byte, reason string) error {
	if m.phase != phaseMember {
		return ErrNotMember
	}
	msg := Message{Kind: MsgP2P, Group: m.cfg.Group, From: m.cfg.Self, QueryID: id, Reply: kind,
		Payload: append([]byte(nil), payload...), Reason: reason}
	if querier == m.cfg.Self {
		m.onReply(msg)
		return nil
	}
	return m.p2pSend(querier, msg)
}

// onReply records a reply at the querier.
func (m *Member) onReply(msg Message) {
	q := m.queries[msg.QueryID]
	if q == nil || q.replied[msg.From] {
		return
	}
	q.replied[msg.From] = true
	switch msg.Reply {
	case ReplyValue:
		q.replies = append(q.replies, QueryReply{From: msg.From, Payload: msg.Payload})
	case ReplyAbort:
		m.finishQuery(q, QueryResult{Aborted: true, Reason: msg.Reason})
		return
	}
	m.checkQuery(q)
}

// checkQueries completes or times out every outstanding query.
func (m *Member) checkQueries() {
	for _, id := range slices.Clone(m.queryIDs) {
		if q := m.queries[id]; q != nil {
			m.checkQuery(q)
		}
	}
}

func (m *Member) checkQuery(q *query) {
	if q.targets == nil {
		if m.now >= q.deadline {
			m.finishQuery(q, QueryResult{TimedOut: true})
		}
		return
	}
	alive, answered := 0, 0
	for _, t := range q.targets {
		if q.replied[t] {
			answered++
			alive++
		} else if m.vs != nil && m.vs.rankOf(t) >= 0 {
			alive++
		}
	}
	real := len(q.replies)
	var done bool
	switch {
	case q.want == ReplyAll:
		done = answered == alive
	case q.want == ReplyMajority:
		done = real >= len(q.targets)/2+1 || answered == alive
	default:
		done = real >= q.want || answered == alive
	}
	if done {
		m.finishQuery(q, QueryResult{})
		return
	}
	if m.now >= q.deadline {
		m.finishQuery(q, QueryResult{TimedOut: true})
	}
}

// P2PSend sends payload reliably and FIFO to member to. It is delivered as EventP2P.
func (m *Member) P2PSend(to string, payload []byte) error {
	if m.phase != phaseMember {
		return ErrNotMember
	}
	if len(payload) > m.cfg.MaxPayloadBytes {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
	}
	return m.p2pSend(to, Message{Kind: MsgP2P, Group: m.cfg.Group, From: m.cfg.Self, Payload: append([]byte(nil), payload...)})
}

// P2PQuery sends a point-to-point query to member to; EventQueryDone reports the (0 or 1) reply.
func (m *Member) P2PQuery(to string, payload []byte, timeoutTicks int) (uint64, error) {
	if m.phase != phaseMember {
		return 0, ErrNotMember
	}
	if len(m.queries) >= m.cfg.MaxQueries {
		return 0, ErrBackpressure
	}
	if timeoutTicks <= 0 {
		timeoutTicks = m.cfg.QueryTimeoutTicks
	}
	m.seq++
	id := m.seq
	err := m.p2pSend(to, Message{Kind: MsgP2P, Group: m.cfg.Group, From: m.cfg.Self, QueryID: id,
		Tag: Tag{Sender: m.cfg.Self, Seq: id}, Payload: append([]byte(nil), payload...)})
	if err != nil {
		return 0, err
	}
	m.addQuery(&query{id: id, want: 1, targets: []string{to}, deadline: m.now + int64(timeoutTicks), replied: map[string]bool{}, p2p: true})
	return id, nil
}

/*
The point-to-point channel: per peer, numbered messages, cumulative acknowledgements, go-back-N
retransmission every RetransmitTicks, at most MaxP2PUnacked unacknowledged. FIFO and reliable while
both ends stay in the view; the channel is dropped when the peer leaves the view.

Acknowledgements are delayed: a receiver acknowledges at its next tick (one cumulative MsgP2PAck per
peer for everything received since), at once when p2pAckEvery messages are owed, and at once on a
duplicate (the sender is retransmitting, so an acknowledgement was lost). A query reply therefore costs
one message instead of two under load. The delay is at most one tick, shorter than RetransmitTicks
(default 10), so it causes no retransmission; it only holds the sender's copies up to a tick longer
(with RetransmitTicks 1 a message may be resent once, and the duplicate is acknowledged at once).
*/
type p2pPeer struct {
	outSeq     uint64
	unacked    []Message
	inNext     uint64
	lastResend int64
	ackOwed    int // in-order messages received and not yet acknowledged
}

// p2pAckEvery is how many owed acknowledgements make one go out before the next tick.
func (m *Member) p2pAckEvery() int { return max(1, m.cfg.MaxP2PUnacked/4) }

// ackP2P sends peer id the cumulative acknowledgement of what it sent.
func (m *Member) ackP2P(id string, p *p2pPeer) {
	p.ackOwed = 0
	m.send(Message{Kind: MsgP2PAck, Group: m.cfg.Group, From: m.cfg.Self, To: id, P2PSeq: p.inNext - 1})
}

func (m *Member) peer(id string) *p2pPeer {
	p := m.p2p[id]
	if p == nil {
		p = &p2pPeer{inNext: 1}
		m.p2p[id] = p
	}
	return p
}

func (m *Member) p2pSend(to string, msg Message) error {
	if m.vs == nil || m.vs.rankOf(to) < 0 {
		return fmt.Errorf("%w: %s", ErrNotMember, to)
	}
	p := m.peer(to)
	if len(p.unacked) >= m.cfg.MaxP2PUnacked {
		return ErrBackpressure
	}
	p.outSeq++
	msg.To = to
	msg.P2PSeq = p.outSeq
	msg.View = m.vs.view.ID
	p.unacked = append(p.unacked, msg)
	if len(p.unacked) == 1 {
		p.lastResend = m.now
	}
	m.send(msg)
	return nil
}

func (m *Member) onP2P(msg Message) {
	if m.phase != phaseMember || m.vs.rankOf(msg.From) < 0 {
		return
	}
	p := m.peer(msg.From)
	if msg.Kind == MsgP2PAck {
		for len(p.unacked) > 0 && p.unacked[0].P2PSeq <= msg.P2PSeq {
			p.unacked = p.unacked[1:]
		}
		return
	}
	if msg.P2PSeq != p.inNext {
		m.ackP2P(msg.From, p) // a duplicate (or a gap): the sender is retransmitting
		return
	}
	p.inNext++
	switch {
	case msg.Reply != 0:
		m.onReply(msg)
	default:
		m.event(Event{Kind: EventP2P, Delivery: Delivery{Tag: Tag{Sender: msg.From, Seq: msg.P2PSeq},
			ViewID: m.vs.view.ID, Payload: msg.Payload, QueryID: msg.QueryID}})
	}
	if p.ackOwed++; p.ackOwed >= m.p2pAckEvery() {
		m.ackP2P(msg.From, p)
	}
}

// tickP2P sends the owed acknowledgements and resends unacknowledged point-to-point messages.
func (m *Member) tickP2P() {
	for _, id := range sortedKeys(m.p2p) {
		p := m.p2p[id]
		if p.ackOwed > 0 {
			m.ackP2P(id, p)
		}
		if len(p.unacked) == 0 || m.now-p.lastResend < int64(m.cfg.RetransmitTicks) {
			continue
		}
		p.lastResend = m.now
		for i, msg := range p.unacked {
			if i >= m.cfg.RetransmitBatch {
				break
			}
			m.send(msg)
		}
	}
}
