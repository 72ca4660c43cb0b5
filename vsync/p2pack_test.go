package vsync

import "testing"

// p2pAcks returns the P2P acknowledgements in msgs, by recipient: the acknowledged sequence number.
func p2pAcks(msgs []Message) map[string]uint64 {
	out := map[string]uint64{}
	for _, msg := range msgs {
		if msg.Kind == MsgP2PAck {
			out[msg.To] = msg.P2PSeq
		}
	}
	return out
}

// TestP2PAckDelayed: in-order point-to-point messages are acknowledged cumulatively at the next tick
// (not in the Ready of their Step), at once when p2pAckEvery are owed, and at once on a duplicate.
func TestP2PAckDelayed(t *testing.T) {
	m := newTestMember(t, "a#1")
	m.cfg.MaxP2PUnacked = 12 // p2pAckEvery = 3
	p2p := func(seq uint64) Message {
		return Message{Kind: MsgP2P, Group: "g", From: "b#1", To: "a#1", View: 1, P2PSeq: seq, Payload: []byte("x")}
	}
	m.Step(p2p(1))
	m.Step(p2p(2))
	rd := m.Ready()
	if len(rd.Events) != 2 || rd.Events[0].Kind != EventP2P {
		t.Fatalf("events %+v, want the two P2P deliveries", rd.Events)
	}
	if acks := p2pAcks(rd.Messages); len(acks) != 0 {
		t.Fatalf("acknowledged before the tick: %v", acks)
	}
	m.Tick()
	if acks := p2pAcks(m.Ready().Messages); acks["b#1"] != 2 || len(acks) != 1 {
		t.Fatalf("acks at the tick %v, want b#1 up to 2", acks)
	}
	m.Tick()
	if acks := p2pAcks(m.Ready().Messages); len(acks) != 0 {
		t.Fatalf("acknowledged again with nothing owed: %v", acks)
	}
	for seq := uint64(3); seq <= 5; seq++ {
		m.Step(p2p(seq))
	}
	if acks := p2pAcks(m.Ready().Messages); acks["b#1"] != 5 {
		t.Fatalf("acks after 3 owed %v, want b#1 up to 5 at once", acks)
	}
	m.Step(p2p(4)) // a retransmission
	if acks := p2pAcks(m.Ready().Messages); acks["b#1"] != 5 {
		t.Fatalf("acks after a duplicate %v, want b#1 up to 5 at once", acks)
	}
}
