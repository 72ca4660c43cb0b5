package vsync

import (
	"math"
	"slices"
)

/*
Total-failure recovery of SafeSends. A view installed by joiners that received no state transfer is a
restart view: no member of the previous view survived. Every member of a restart view (a founder)
SafeSends the entries of its log of earlier incarnations with their original tags, marked Replay and
keyed by their original place in the order (view and position, from the log's order markers; an entry
this process never delivered sorts at the end of the view it was logged in), then an end marker. Members do not deliver
replays as they are ordered: they collect them, and once every founder's end marker was delivered (or
when a flush ends the restart view early), they deliver the collected replays sorted by key, dropping
duplicate tags and anything that would break a sender's FIFO order. Every member sees the same ordered
stream and the same flush decision, so every member delivers the same replays in the same order, and
that order is the original one. Ordered messages of the restart view itself are held back until the
replays are delivered, so the replays come first in the restart view's order too; the order marker
logged for a replay keeps its original key, so a later recovery sorts it where it first belonged.
*/
type replayState struct {
	founders []string
	ended    map[string]bool
	buf      []*Message
	post     []*entry          // ordered messages of the restart view, delivered after the replays
	top      map[string]uint64 // highest replayed sequence delivered per sender
}

// startReplay is called when a member installs a restart view.
func (m *Member) startReplay() {
	m.rp = &replayState{founders: slices.Clone(m.vs.view.Members), ended: map[string]bool{}, top: map[string]uint64{}}
	type item struct {
		e      LogEntry // the payload entry
		view   uint64
		pos    uint64
		rank   int
		idx    uint64
		ballot uint64 // of the marker view/pos came from (0: no marker)
	}
	items := map[Tag]*item{}
	var order []Tag
	for _, e := range m.replayLog {
		it := items[e.Tag]
		if it == nil {
			it = &item{}
			items[e.Tag] = it
			order = append(order, e.Tag)
		}
		if e.Payload != nil {
			if it.e.Payload == nil {
				it.e = e
			}
			continue
		}
		if e.Pos == math.MaxUint64 {
			// a replay of an entry nobody knew the place of: its (rank, index) tie-break in its view
			it.rank, it.idx = e.Rank, e.Idx
			if it.ballot == 0 {
				it.view, it.pos = e.View, e.Pos
			}
			continue
		}
		if e.Ballot >= it.ballot {
			it.view, it.pos, it.ballot = e.View, e.Pos, max(e.Ballot, BallotSequencer)
		}
	}
	m.replayLog = nil
	for _, t := range order {
		it := items[t]
		if it.e.Payload == nil {
			continue
		}
		if it.ballot == 0 && it.pos != math.MaxUint64 {
			// Never ordered here: it belongs to the view it was logged in, after everything this process
			// knew the place of there (it learns positions in order, and it logged the message before the
			// sequencer could order it), tied by (rank, index) as a flush decision orders.
			it.view, it.pos, it.rank, it.idx = it.e.View, math.MaxUint64, it.e.Rank, it.e.Idx
		}
		if it.ballot != 0 {
			it.rank, it.idx = 0, 0
		}
		msg := &Message{Kind: MsgData, Group: m.cfg.Group, From: m.cfg.Self, Tag: t, Flavour: FlavourSafe,
			Payload: it.e.Payload, Replay: true, RView: it.view, RPos: it.pos, RRank: it.rank, RIdx: it.idx,
			RBallot: it.ballot}
		m.sendData(msg)
	}
	m.sendData(&Message{Kind: MsgData, Group: m.cfg.Group, From: m.cfg.Self, Flavour: FlavourOrdered, Replay: true})
}

// replayKey orders collected replays by (view, position), then by tag: entries whose position no log
// knew are keyed at the end of their view, and the sequencer orders each sender's messages in FIFO
// order, so the tag order is right per sender.
func replayKey(a, b *Message) int {
	switch {
	case a.RView != b.RView:
		return cmpU(a.RView, b.RView)
	case a.RPos != b.RPos:
		return cmpU(a.RPos, b.RPos)
	case a.RRank != b.RRank:
		return a.RRank - b.RRank
	case a.RIdx != b.RIdx:
		return cmpU(a.RIdx, b.RIdx)
	case a.Tag.Sender != b.Tag.Sender:
		if a.Tag.Sender < b.Tag.Sender {
			return -1
		}
		return 1
	}
	return cmpU(a.Tag.Seq, b.Tag.Seq)
}

// onReplay collects an ordered replay message (or end marker) instead of delivering it.
func (m *Member) onReplay(vs *vstate, msg *Message) {
	rp := m.rp
	if rp == nil {
		return // not a restart view of this member: a late replay from an ended recovery
	}
	if msg.Tag.Seq == 0 {
		rp.ended[msg.From] = true
		for _, f := range rp.founders {
			if !rp.ended[f] {
				return
			}
		}
		m.endReplay(vs)
		return
	}
	rp.buf = append(rp.buf, msg)
}

// endReplay delivers the collected replays in their original order.
func (m *Member) endReplay(vs *vstate) {
	rp := m.rp
	if rp == nil {
		return
	}
	m.rp = nil
	// Of the founders' copies of one tag, the one whose place has the highest ballot wins (ties: the
	// earliest key): a founder that missed a flush decision may hold a stale sequencer position.
	best := make(map[Tag]*Message, len(rp.buf))
	for _, msg := range rp.buf {
		b := best[msg.Tag]
		if b == nil || msg.RBallot > b.RBallot || (msg.RBallot == b.RBallot && replayKey(msg, b) < 0) {
			best[msg.Tag] = msg
		}
	}
	chosen := rp.buf[:0]
	for _, msg := range rp.buf {
		if best[msg.Tag] == msg {
			chosen = append(chosen, msg)
		}
	}
	slices.SortStableFunc(chosen, replayKey)
	fifoSlots(chosen)
	for _, msg := range chosen {
		if m.replayed[msg.Tag] || msg.Tag.Seq <= rp.top[msg.Tag.Sender] {
			continue
		}
		m.replayed[msg.Tag] = true
		rp.top[msg.Tag.Sender] = msg.Tag.Seq
		h := heldOf(msg)
		m.logSafe(&h)
		m.out.Entries = append(m.out.Entries, LogEntry{Group: m.cfg.Group, Tag: msg.Tag, View: msg.RView, Pos: msg.RPos,
			Rank: msg.RRank, Idx: msg.RIdx, Ballot: msg.RBallot})
		m.event(Event{Kind: EventDeliver, Delivery: Delivery{Tag: msg.Tag, Flavour: FlavourSafe, ViewID: vs.view.ID,
			Payload: msg.Payload, Replayed: true}})
	}
	for _, e := range rp.post {
		m.deliver(vs, e)
	}
}

// fifoSlots puts each sender's replays in sequence order within the places its replays hold in msgs:
// copies chosen from different founders (a moved position here, a stale one there) may otherwise
// put a sender's later message first, and dropping it would lose a delivered SafeSend.
func fifoSlots(msgs []*Message) {
	slots := map[string][]int{}
	var senders []string
	for i, msg := range msgs {
		if slots[msg.Tag.Sender] == nil {
			senders = append(senders, msg.Tag.Sender)
		}
		slots[msg.Tag.Sender] = append(slots[msg.Tag.Sender], i)
	}
	for _, s := range senders {
		idx := slots[s]
		own := make([]*Message, len(idx))
		for k, i := range idx {
			own[k] = msgs[i]
		}
		slices.SortStableFunc(own, func(a, b *Message) int { return cmpU(a.Tag.Seq, b.Tag.Seq) })
		for k, i := range idx {
			msgs[i] = own[k]
		}
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
