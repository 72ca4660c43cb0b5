package vsync

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleMessages() []Message {
	return []Message{
		{Kind: MsgData, Group: "g", From: "n1#1", To: "n2#1", View: 3, Idx: 7, Tag: Tag{Sender: "n1#1", Seq: 9},
			Flavour: FlavourSafe, Payload: []byte("hello"), AckReq: true, QueryID: 9},
		{Kind: MsgOrder, Group: "g", From: "n0#1", View: 3, Pos: 10, Refs: []Ref{{Rank: 1, Idx: 2}, {Rank: 0, Idx: 5}}},
		{Kind: MsgHeartbeat, Group: "g", From: "n0#1", View: 3, Frontier: []uint64{1, 2, 3}, Delivered: 4, OrderKnown: 5},
		{Kind: MsgFlushState, Group: "g", View: 3, Attempt: 2, State: &FlushState{Recv: []uint64{1}, Delivered: 1,
			Records: []OrderRecord{{Pos: 1, Ref: Ref{Idx: 1}, Attempt: 1}}, Msgs: []*Message{{Kind: MsgData, Idx: 1}}, Applied: 1}},
		{Kind: MsgFlushDecision, Decision: &Decision{UpTo: []uint64{3, 4}, Base: 2, Records: []OrderRecord{{Pos: 3}}}},
		{Kind: MsgStateChunk, ChunkSeq: 2, Last: true, Payload: []byte{0, 1, 2}},
		{Kind: MsgOracleRequest, Req: &OracleRequest{Op: OpSuspect, Group: "g", Member: "a#1", Target: "b#1"}},
		{Kind: MsgOracleUpdate, Leader: true, Record: &GroupRecord{Group: "g", View: View{ID: 4, Members: []string{"a#1"}},
			Change: &ViewChange{Attempt: 1, Next: []string{"a#1", "c#1"}, Coordinator: "a#1", Joiners: []string{"c#1"}}, Restart: true}},
		{Kind: MsgP2P, P2PSeq: 3, Reply: ReplyAbort, Reason: "no"},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var got Message
		if err := got.Unmarshal(b); err != nil {
			t.Fatalf("%v: %v", m.Kind, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%v: round trip\n got %+v\nwant %+v", m.Kind, got, m)
		}
	}
	for _, bad := range [][]byte{nil, {}, {2, '{', '}'}, {wireVersion}, {wireVersion, '{', '}'}, []byte("\x01{\"k\":99}")} {
		var m Message
		if err := m.Unmarshal(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("Unmarshal(%q) = %v, want ErrEncoding", bad, err)
		}
	}
}

// FuzzUnmarshal checks that no input makes Unmarshal panic and that what it accepts re-encodes to
// something it accepts again and that encodes to the same bytes (a fixed point after one round).
func FuzzUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		b, _ := m.Marshal()
		f.Add(b)
	}
	f.Add([]byte{wireVersion, '[', ']'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.Unmarshal(b); err != nil {
			return
		}
		b2, err := m.Marshal()
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		var m2 Message
		if err := m2.Unmarshal(b2); err != nil {
			t.Fatalf("re-unmarshal: %v", err)
		}
		b3, err := m2.Marshal()
		if err != nil || !bytes.Equal(b2, b3) {
			t.Fatalf("not stable: %v\n%q\n%q", err, b2, b3)
		}
	})
}
