package vsync

import "testing"

// newTestMember returns member self of a three-member view {a#1, b#1, c#1} of group g, installed at
// tick 0, with its install outputs drained.
func newTestMember(t *testing.T, self string) *Member {
	t.Helper()
	m, err := NewMember(Config{Group: "g", Self: self, Oracle: []string{"o1"}, HeartbeatTicks: 5,
		SuspectTicks: 100, RetransmitTicks: 4})
	if err != nil {
		t.Fatal(err)
	}
	m.phase = phaseJoining
	m.install(View{ID: 1, Members: []string{"a#1", "b#1", "c#1"}})
	m.Ready()
	return m
}

func beat(from string, frontier []uint64, delivered uint64) Message {
	return Message{Kind: MsgHeartbeat, Group: "g", From: from, To: "a#1", View: 1, Frontier: frontier,
		Delivered: delivered}
}

// TestReleaseAtTick: a message is released once every member's frontier covers it, at the first tick
// after the heartbeat that completed it (not in the heartbeat's Step), and never before.
func TestReleaseAtTick(t *testing.T) {
	for _, tc := range []struct {
		name   string
		beats  []Message
		onTick bool // released at the next tick
	}{
		{"every member has it", []Message{beat("b#1", []uint64{0, 1, 0}, 0), beat("c#1", []uint64{0, 1, 0}, 0)}, true},
		{"c lacks it", []Message{beat("b#1", []uint64{0, 1, 0}, 0), beat("c#1", []uint64{0, 0, 0}, 0)}, false},
		{"c silent", []Message{beat("b#1", []uint64{0, 1, 0}, 0)}, false},
		{"short beats carry no frontier", []Message{beat("b#1", nil, 0), beat("c#1", nil, 0)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMember(t, "a#1")
			m.Step(Message{Kind: MsgData, Group: "g", From: "b#1", To: "a#1", View: 1, Idx: 1,
				Tag: Tag{Sender: "b#1", Seq: 1}, Flavour: FlavourSend, Payload: []byte("x")})
			held := func() bool { return m.vs.senders[1].held.get(1) != nil }
			if !held() {
				t.Fatal("the Send is not held")
			}
			for _, b := range tc.beats {
				m.Step(b)
			}
			if !held() {
				t.Fatal("released in the heartbeat's Step: release runs at the tick")
			}
			m.Tick()
			if got := !held(); got != tc.onTick {
				t.Fatalf("released at the tick = %v, want %v", got, tc.onTick)
			}
			m.Tick()
			if got := !held(); got != tc.onTick {
				t.Fatalf("released a tick later = %v, want %v", got, tc.onTick)
			}
		})
	}
}

// TestRetransmitOnFreshFrontier: an own message a peer's frontier lacks is resent on a heartbeat that
// carries frontiers, not on a short "records known" heartbeat (whose sender's last frontier may be a
// whole interval old).
func TestRetransmitOnFreshFrontier(t *testing.T) {
	for _, tc := range []struct {
		name   string
		beat   Message
		resend bool
	}{
		{"full heartbeat lacking it", beat("b#1", []uint64{0, 0, 0}, 0), true},
		{"full heartbeat having it", beat("b#1", []uint64{1, 0, 0}, 0), false},
		{"short heartbeat", beat("b#1", nil, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMember(t, "a#1")
			if _, err := m.Send([]byte("x")); err != nil {
				t.Fatal(err)
			}
			m.Ready()
			for i := 0; i < 4; i++ { // RetransmitTicks
				m.Tick()
			}
			m.Ready()
			m.Step(tc.beat)
			resent := false
			for _, msg := range m.Ready().Messages {
				resent = resent || msg.Kind == MsgData && msg.To == "b#1"
			}
			if resent != tc.resend {
				t.Fatalf("resent = %v, want %v", resent, tc.resend)
			}
		})
	}
}
