package vsync

import "fmt"

/*
State transfer. After every survivor applied the flush decision, the coordinator emits
EventMakeCheckpoint; the application snapshots its state at that point (it has delivered all of the old
view and nothing of the new one) and hands a CheckpointSource to SetCheckpointSource. The coordinator
pulls chunks only while fewer than ChunkWindow are unacknowledged by some joiner, so it holds at most
ChunkWindow chunks, and sends every chunk to every joiner. Several joiners share one checkpoint.
A joiner delivers chunks in sequence (EventLoadChunk; a ChunkSeq of 1 means "start over": a new attempt
restarted the transfer), acknowledges cumulatively, and installs the view only when the service commits
it, which happens after every joiner acknowledged the last chunk.
*/
type transfer struct {
	joiners    []string
	src        CheckpointSource
	chunks     []chunk
	nextSeq    uint64
	lastSeq    uint64 // seq of the last chunk, once pulled
	acked      map[string]uint64
	lastResend int64
}

type chunk struct {
	seq  uint64
	data []byte
	last bool
}

func newTransfer(joiners []string) *transfer {
	return &transfer{joiners: append([]string(nil), joiners...), acked: map[string]uint64{}}
}

// SetCheckpointSource hands the coordinator the checkpoint asked for by EventMakeCheckpoint.
func (m *Member) SetCheckpointSource(src CheckpointSource) error {
	if m.wc == nil || !m.wc.coord || m.wc.xfer == nil {
		return fmt.Errorf("%w: no checkpoint was asked for", ErrBusy)
	}
	if m.wc.xfer.src != nil {
		return fmt.Errorf("%w: checkpoint source already set", ErrBusy)
	}
	m.wc.xfer.src = src
	m.pump()
	return nil
}

// pump pulls and sends chunks while the window allows, and finishes when all joiners have it all.
func (m *Member) pump() {
	x := m.wc.xfer
	if x.src == nil {
		return
	}
	for len(x.chunks) < m.cfg.ChunkWindow && x.lastSeq == 0 {
		data, last, err := x.src.NextChunk(m.cfg.MaxChunkBytes)
		if err != nil {
			m.stop(fmt.Errorf("vsync: making a checkpoint: %w", err))
			return
		}
		x.nextSeq++
		c := chunk{seq: x.nextSeq, data: append([]byte(nil), data...), last: last}
		if last {
			x.lastSeq = c.seq
		}
		x.chunks = append(x.chunks, c)
		for _, j := range x.joiners {
			m.sendChunk(j, c)
		}
	}
	if x.lastSeq == 0 {
		return
	}
	for _, j := range x.joiners {
		if x.acked[j] < x.lastSeq {
			return
		}
	}
	m.flushDone()
}

func (m *Member) sendChunk(to string, c chunk) {
	m.send(Message{Kind: MsgStateChunk, Group: m.cfg.Group, From: m.cfg.Self, To: to, View: m.vs.view.ID,
		Attempt: m.wc.attempt, ChunkSeq: c.seq, Payload: c.data, Last: c.last})
}

// onJoinerMsg handles a joiner's heartbeat or chunk acknowledgement at the coordinator.
func (m *Member) onJoinerMsg(msg Message) {
	wc := m.wc
	wc.heard[msg.From] = m.now
	if msg.Kind != MsgStateAck || !wc.coord || wc.xfer == nil || msg.Attempt != wc.attempt || wc.done {
		return
	}
	x := wc.xfer
	if msg.ChunkSeq > x.acked[msg.From] && msg.ChunkSeq <= x.nextSeq {
		x.acked[msg.From] = msg.ChunkSeq
	}
	low := x.nextSeq
	for _, j := range x.joiners {
		low = min(low, x.acked[j])
	}
	for len(x.chunks) > 0 && x.chunks[0].seq <= low {
		x.chunks = x.chunks[1:]
	}
	m.pump()
}

// tickTransfer resends unacknowledged chunks.
func (m *Member) tickTransfer() {
	x := m.wc.xfer
	if m.now-x.lastResend < int64(m.cfg.RetransmitTicks) {
		return
	}
	x.lastResend = m.now
	for _, j := range x.joiners {
		for _, c := range x.chunks {
			if c.seq > x.acked[j] {
				m.sendChunk(j, c)
			}
		}
	}
}

// joinState is a joiner's view of the change that adds it.
type joinState struct {
	view     uint64
	attempt  uint64
	coord    string
	next     uint64 // next chunk expected
	loaded   bool   // the last chunk was loaded
	heard    int64
	lastBeat int64
}

// track follows the change in progress (new attempt: new coordinator, transfer restarts).
func (j *joinState) track(m *Member, rec *GroupRecord) {
	if rec.View.ID > j.view || rec.View.ID == j.view && rec.Change.Attempt > j.attempt {
		j.view, j.attempt, j.coord = rec.View.ID, rec.Change.Attempt, rec.Change.Coordinator
		j.next, j.loaded, j.heard = 1, false, m.now
	}
}

// tickJoin sends heartbeats to the coordinator and suspects it when it is silent.
func (m *Member) tickJoin() {
	j := m.join
	if j == nil || j.coord == "" || m.rec == nil || m.rec.Change == nil || m.rec.View.ID != j.view {
		return
	}
	// Joiners ping the coordinator, which answers every ping (onJoinerPing): a coordinator that stays
	// silent is suspected. A joiner of a later change (not in Next) waits longer: a change whose
	// coordinator died would block it forever, but a long state transfer to others must not.
	if m.now-j.lastBeat >= int64(m.cfg.HeartbeatTicks) {
		j.lastBeat = m.now
		m.send(Message{Kind: MsgHeartbeat, Group: m.cfg.Group, From: m.cfg.Self, To: j.coord, View: j.view, Attempt: j.attempt})
	}
	patience := int64(m.cfg.SuspectTicks)
	if !contains(m.rec.Change.Next, m.cfg.Self) {
		patience *= 3
	}
	if m.now-j.heard > patience {
		m.suspect(j.coord)
	}
}

// onJoinerPing answers a joiner's heartbeat at the coordinator of a change, so the joiner knows the
// coordinator is alive while it flushes or streams state to others.
func (m *Member) onJoinerPing(msg Message) {
	if m.wc == nil || !m.wc.coord || msg.Kind != MsgHeartbeat {
		return
	}
	m.send(Message{Kind: MsgHeartbeat, Group: m.cfg.Group, From: m.cfg.Self, To: msg.From, View: m.vs.view.ID,
		Attempt: m.wc.attempt})
}

// onCoordPing notes the coordinator's answer to a joiner's heartbeat.
func (m *Member) onCoordPing(msg Message) {
	if j := m.join; j != nil && msg.From == j.coord {
		j.heard = m.now
	}
}

// onStateChunk loads a checkpoint chunk (joiner).
func (m *Member) onStateChunk(msg Message) {
	j := m.join
	if m.phase != phaseJoining || j == nil {
		return
	}
	if msg.View < j.view || msg.View == j.view && msg.Attempt < j.attempt {
		return
	}
	if msg.View > j.view || msg.Attempt > j.attempt {
		j.view, j.attempt, j.coord, j.next, j.loaded = msg.View, msg.Attempt, msg.From, 1, false
	}
	if msg.From != j.coord {
		return
	}
	j.heard = m.now
	if msg.ChunkSeq == j.next && !j.loaded {
		m.event(Event{Kind: EventLoadChunk, Chunk: msg.Payload, ChunkSeq: msg.ChunkSeq, Last: msg.Last})
		j.next++
		j.loaded = msg.Last
	}
	m.send(Message{Kind: MsgStateAck, Group: m.cfg.Group, From: m.cfg.Self, To: msg.From, View: msg.View,
		Attempt: msg.Attempt, ChunkSeq: j.next - 1})
}
