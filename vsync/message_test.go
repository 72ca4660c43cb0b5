package vsync

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"unsafe"
)

func sampleMessages() []Message {
	return []Message{
		{Kind: MsgData, Group: "g", From: "n1#1", To: "n2#1", View: 3, Idx: 7, Tag: Tag{Sender: "n1#1", Seq: 9},
			Flavour: FlavourSafe, Payload: []byte("hello"), AckReq: true, QueryID: 9},
		{Kind: MsgOrder, Group: "g", From: "n0#1", View: 3, Pos: 10, Refs: []Ref{{Rank: 1, Idx: 2}, {Rank: 0, Idx: 5}}},
		{Kind: MsgHeartbeat, Group: "g", From: "n0#1", View: 3, Frontier: []uint64{1, 2, 3}, Delivered: 4, OrderKnown: 5, Held: 4, AllHeld: 3},
		{Kind: MsgFlushState, Group: "g", View: 3, Attempt: 2, State: &FlushState{Recv: []uint64{1}, Delivered: 1,
			Records: []OrderRecord{{Pos: 1, Ref: Ref{Idx: 1}, Attempt: 1}}, Msgs: []*Message{{Kind: MsgData, Idx: 1}}, Applied: 1}},
		{Kind: MsgFlushDecision, Decision: &Decision{UpTo: []uint64{3, 4}, Base: 2, Records: []OrderRecord{{Pos: 3}}}},
		{Kind: MsgStateChunk, ChunkSeq: 2, Last: true, Payload: []byte{0, 1, 2}},
		{Kind: MsgOracleRequest, Req: &OracleRequest{Op: OpSuspect, Group: "g", Member: "a#1", Target: "b#1"}},
		{Kind: MsgOracleUpdate, Leader: true, Record: &GroupRecord{Group: "g", View: View{ID: 4, Members: []string{"a#1"}},
			Change: &ViewChange{Attempt: 1, Next: []string{"a#1", "c#1"}, Coordinator: "a#1", Joiners: []string{"c#1"}}, Restart: true}},
		{Kind: MsgP2P, P2PSeq: 3, Reply: ReplyAbort, Reason: "no"},
		{Kind: MsgData, Group: "g", From: "n2#1", View: 9, Idx: 1, Tag: Tag{Sender: "n7#3", Seq: 1 << 40},
			Flavour: FlavourSafe, Payload: []byte{0xff, 0}, Replay: true, RView: 2, RPos: 5, RRank: 2, RIdx: 4, RBallot: 7},
		{Kind: MsgFlushDecision, View: 2, Attempt: 1, Decision: &Decision{Msgs: []*Message{nil, {Kind: MsgData,
			RRank: -3, State: &FlushState{Applied: 2}}}}},
		{Kind: MsgFlushAck, Group: "g", From: "a", To: "b", View: 1, Attempt: 1},
		{Kind: MsgStateAck, ChunkSeq: 9},
		{Kind: MsgP2PAck, P2PSeq: 4},
		{Kind: MsgPoison, View: 3},
		{Kind: MsgOracleUpdate, Record: &GroupRecord{Group: "g", View: View{ID: 1, Members: []string{"a", ""}}}},
	}
}

// TestMessageV2Rejects checks that truncated, padded or corrupted v2 encodings are rejected.
func TestMessageV2Rejects(t *testing.T) {
	for _, m := range sampleMessages() {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != wireVersion {
			t.Fatalf("version byte %d", b[0])
		}
		for n := 0; n < len(b); n++ {
			var got Message
			if err := got.Unmarshal(b[:n]); !errors.Is(err, ErrEncoding) {
				t.Errorf("%v truncated to %d bytes: %v, want ErrEncoding", m.Kind, n, err)
			}
		}
		var got Message
		if err := got.Unmarshal(append(b, 0)); !errors.Is(err, ErrEncoding) {
			t.Errorf("%v with a trailing byte: %v, want ErrEncoding", m.Kind, err)
		}
	}
	for _, bad := range [][]byte{
		{wireVersion, byte(MsgData), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, // mask overflow
		{wireVersion, byte(MsgData), 0x80, 0x80, 0x80, 0x80, 0x10},                                     // unknown field bit 32
		{wireVersion, 14, 0},                        // unknown kind
		{wireVersion, 0, 0},                         // kind 0
		{wireVersion, byte(MsgOrder), 1 << 4, 5, 2}, // refs: count larger than the input
		{wireVersion, byte(MsgData), 1 << 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, // group length 4 GiB
		{wireVersion, byte(MsgHeartbeat), 0x80, 0x80, 0x80, 0x01, 3, 1},    // flush-state body truncated
	} {
		var m Message
		if err := m.Unmarshal(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("Unmarshal(%x) = %v, want ErrEncoding", bad, err)
		}
	}
}

// TestMessageJSONCompat checks that the version 1 (JSON) encoding is still decoded.
func TestMessageJSONCompat(t *testing.T) {
	b := append([]byte{wireVersionJSON}, `{"k":3,"g":"g","f":"a#1","v":4,"fr":[1,2],"dl":3,"ok":5}`...)
	var m Message
	if err := m.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	want := Message{Kind: MsgHeartbeat, Group: "g", From: "a#1", View: 4, Frontier: []uint64{1, 2}, Delivered: 3, OrderKnown: 5}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v, want %+v", m, want)
	}
}

// TestDecoderInterns checks that a Decoder returns the same strings for repeated names, that the
// payload aliases the input, and that it decodes like Unmarshal.
func TestDecoderInterns(t *testing.T) {
	var d Decoder
	in := Message{Kind: MsgData, Group: "grp", From: "n1#1", To: "n2#1", Tag: Tag{Sender: "n1#1", Seq: 1}, Payload: []byte("xy")}
	b1, _ := in.Marshal()
	b2, _ := in.Marshal()
	var m1, m2 Message
	if err := d.Unmarshal(b1, &m1); err != nil {
		t.Fatal(err)
	}
	if err := d.Unmarshal(b2, &m2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m1, in) || !reflect.DeepEqual(m2, in) {
		t.Fatalf("decoded %+v / %+v, want %+v", m1, m2, in)
	}
	if unsafe.StringData(m1.From) != unsafe.StringData(m2.From) || unsafe.StringData(m1.From) != unsafe.StringData(m2.Tag.Sender) {
		t.Errorf("member names not interned")
	}
	if &m1.Payload[0] != &b1[len(b1)-2] {
		t.Errorf("payload copied, want it to alias the input")
	}
	if len(d.strs) != 3 {
		t.Errorf("%d interned strings, want 3", len(d.strs))
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
	for _, bad := range [][]byte{nil, {}, {3}, {2, '{', '}'}, {wireVersion}, {wireVersion, '{', '}'}, []byte("\x01{\"k\":99}"), []byte("\x01[]")} {
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
