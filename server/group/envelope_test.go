package group

import (
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/vsdb/vsdb/vsync"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		kind   Kind
		group  string
		bodies [][]byte
	}{
		{KindMember, "g", [][]byte{[]byte("a")}},
		{KindOracle, "", [][]byte{{}, []byte("xyz"), make([]byte, 300)}},
		{KindRaft, "", [][]byte{[]byte("r1"), []byte("r2")}},
	} {
		b := encodeEnvelope(nil, tc.kind, tc.group, tc.bodies)
		e, err := decodeEnvelope(b)
		if err != nil {
			t.Fatalf("%v: %v", tc.kind, err)
		}
		if e.Kind != tc.kind || e.Group != tc.group || !slices.EqualFunc(e.Bodies, tc.bodies, slices.Equal) {
			t.Fatalf("round trip %+v, want %+v", e, tc)
		}
	}
}

func TestEnvelopeRejects(t *testing.T) {
	good := encodeEnvelope(nil, KindMember, "g", [][]byte{[]byte("ab")})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version", append([]byte{9}, good[1:]...)},
		{"kind 0", append([]byte{1, 0}, good[2:]...)},
		{"kind 4", append([]byte{1, 4}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(slices.Clone(good), 0)},
		{"zero count", []byte{1, 1, 0, 0}},
		{"huge count", []byte{1, 1, 0, 0xff, 0xff, 0x7f}},
		{"huge group", []byte{1, 1, 0xff, 0x7f}},
	} {
		if _, err := decodeEnvelope(tc.b); !errors.Is(err, ErrEnvelope) {
			t.Errorf("%s: err = %v, want ErrEnvelope", tc.name, err)
		}
	}
}

// FuzzDecodeEnvelope: the decoder never panics, and what it accepts re-encodes to an envelope that
// decodes to the same content.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(encodeEnvelope(nil, KindMember, "g", [][]byte{[]byte("a"), nil}))
	f.Add(encodeEnvelope(nil, KindRaft, "", [][]byte{make([]byte, 200)}))
	f.Add([]byte{1, 2, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		again, err := decodeEnvelope(encodeEnvelope(nil, e.Kind, e.Group, e.Bodies))
		if err != nil || again.Kind != e.Kind || again.Group != e.Group || !slices.EqualFunc(again.Bodies, e.Bodies, slices.Equal) {
			t.Fatalf("re-encode of %x: %+v, %v", b, again, err)
		}
	})
}

// TestOutboxEnvelopes checks that sendMessages' envelope building (header, then length-prefixed
// message encodings) decodes to the messages it was given, through the receiving decoder.
func TestOutboxEnvelopes(t *testing.T) {
	msgs := []vsync.Message{
		{Kind: vsync.MsgData, Group: "g", From: "n1#1", To: "n2#1", View: 1, Idx: 1, Tag: vsync.Tag{Sender: "n1#1", Seq: 1},
			Flavour: vsync.FlavourOrdered, Payload: []byte("p1")},
		{Kind: vsync.MsgHeartbeat, Group: "g", From: "n1#1", To: "n2#1", View: 1, Frontier: []uint64{1, 0}},
	}
	b := &outBatch{}
	for i := range msgs {
		body, err := msgs[i].AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		b.bodies = binary.AppendUvarint(b.bodies, uint64(len(body)))
		b.bodies = append(b.bodies, body...)
		b.count++
	}
	env := append(appendEnvelopeHeader(nil, KindMember, "g", b.count), b.bodies...)
	e, err := decodeEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != KindMember || e.Group != "g" || len(e.Bodies) != len(msgs) {
		t.Fatalf("decoded %+v", e)
	}
	var dec vsync.Decoder
	for i, body := range e.Bodies {
		var got vsync.Message
		if err := dec.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, msgs[i]) {
			t.Errorf("message %d: got %+v, want %+v", i, got, msgs[i])
		}
	}
}
