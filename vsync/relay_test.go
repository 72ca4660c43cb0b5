package vsync

import (
	"slices"
	"testing"
)

// beatsTo returns the recipients of rd's heartbeats and the AllHeld each carried.
func beatsTo(rd Ready) (to []string, allHeld []uint64) {
	for _, msg := range rd.Messages {
		if msg.Kind == MsgHeartbeat {
			to, allHeld = append(to, msg.To), append(allHeld, msg.AllHeld)
		}
	}
	return to, allHeld
}

func delivered(rd Ready) int {
	n := 0
	for _, ev := range rd.Events {
		if ev.Kind == EventDeliver {
			n++
		}
	}
	return n
}

// TestHeldRelayFollower: a follower that comes to hold the sequencer's message tells only the
// sequencer (its sender), not the other follower, and delivers once the sequencer relays AllHeld.
func TestHeldRelayFollower(t *testing.T) {
	m := newTestMember(t, "c#1")
	m.Step(Message{Kind: MsgData, Group: "g", From: "a#1", To: "c#1", View: 1, Idx: 1,
		Tag: Tag{Sender: "a#1", Seq: 1}, Flavour: FlavourOrdered, Payload: []byte("x")})
	m.Step(Message{Kind: MsgOrder, Group: "g", From: "a#1", To: "c#1", View: 1, Pos: 1, Refs: []Ref{{Rank: 0, Idx: 1}}})
	rd := m.Ready()
	m.Advance(rd)
	if to, _ := beatsTo(rd); !slices.Equal(to, []string{"a#1"}) {
		t.Fatalf("Held told to %v, want only the sequencer [a#1]", to)
	}
	if n := delivered(rd); n != 0 {
		t.Fatalf("delivered %d before knowing b#1 holds it", n)
	}
	m.Step(Message{Kind: MsgHeartbeat, Group: "g", From: "a#1", To: "c#1", View: 1, Held: 1, OrderKnown: 1, AllHeld: 1})
	if rd := m.Ready(); delivered(rd) != 1 {
		t.Fatalf("delivered %d after the relay of AllHeld 1, want 1", delivered(rd))
	}
}

// TestHeldRelaySequencer: the sequencer delivers once both followers reported Held, holds the relay back
// (HasDeferred) until FlushDeferred, then sends it to both followers once.
func TestHeldRelaySequencer(t *testing.T) {
	m := newTestMember(t, "a#1")
	if _, err := m.OrderedSend([]byte("x")); err != nil {
		t.Fatal(err)
	}
	m.Advance(m.Ready())
	for _, from := range []string{"b#1", "c#1"} {
		m.Step(Message{Kind: MsgHeartbeat, Group: "g", From: from, To: "a#1", View: 1, Held: 1, OrderKnown: 1})
	}
	rd := m.Ready()
	m.Advance(rd)
	if delivered(rd) != 1 {
		t.Fatalf("the sequencer delivered %d once both followers hold it, want 1", delivered(rd))
	}
	if to, _ := beatsTo(rd); len(to) != 0 {
		t.Fatalf("relay sent before FlushDeferred, to %v", to)
	}
	if !m.HasDeferred() {
		t.Fatal("no deferred relay after AllHeld advanced")
	}
	m.FlushDeferred()
	rd = m.Ready()
	m.Advance(rd)
	if to, ah := beatsTo(rd); !slices.Equal(to, []string{"b#1", "c#1"}) || !slices.Equal(ah, []uint64{1, 1}) {
		t.Fatalf("relay to %v with AllHeld %v, want [b#1 c#1] with [1 1]", to, ah)
	}
	if m.HasDeferred() {
		t.Fatal("relay still deferred after it was sent")
	}
}
