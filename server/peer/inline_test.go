//go:build unix

package peer

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitStats polls a's counters until ok holds, failing the test at the overall deadline.
func waitStats(t *testing.T, a *Transport, ok func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(overall)
	for !ok(a.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats never reached the wanted state: %+v", a.Stats())
		}
		runtime.Gosched()
	}
}

// A SendInline to a connected, idle peer writes the frame itself; with NoInlineWrites, and for Send,
// every frame goes through the owner loop. Either way frames arrive whole and in order.
func TestInlineWrites(t *testing.T) {
	for _, mode := range []string{"SendInline", "NoInlineWrites", "Send"} {
		acfg := testConfig(1)
		acfg.NoInlineWrites = mode == "NoInlineWrites"
		a := startNode(t, acfg)
		b := startNode(t, testConfig(2))
		a.SetPeer(2, b.Addr().String())
		send := a.SendInline
		if mode == "Send" {
			send = a.Send
		}
		deadline := time.After(overall)
		const frames = 200
		for i := range frames {
			if err := send(2, seqPayload(uint64(i), 100+i)); err != nil {
				t.Fatal(err)
			}
			m := b.recv(t, deadline)
			if seq := payloadSeq(t, m.Payload); seq != uint64(i) || len(m.Payload) != 100+i {
				t.Fatalf("%s: got frame %d of %d bytes, want frame %d", mode, seq, len(m.Payload), i)
			}
			// The sender's counters move after its writer let go of the connection: then the next
			// Send finds the peer idle.
			waitStats(t, a.Transport, func(s Stats) bool { return s.FramesSent == uint64(i+1) })
		}
		s := a.Stats()
		want := uint64(0)
		if mode == "SendInline" {
			want = frames - 1 // the first frame was queued: there was no connection yet
		}
		if s.InlineWrites != want || s.FramesLost != 0 || s.InlinePartial != 0 {
			t.Errorf("%s: stats %+v, want %d inline writes", mode, s, want)
		}
	}
}

// When the receiver stops reading, inline writes fill the socket buffers until one is taken only in
// part; its tail goes to the owner loop, which blocks, and the following frames queue until ErrQueueFull.
// Releasing the receiver delivers every accepted frame whole (a torn frame would fail its checksum) and
// in order.
func TestInlinePartialWrite(t *testing.T) {
	gate := make(chan struct{})
	var openGate sync.Once
	var (
		mu   sync.Mutex
		got  []uint64
		want = -1
	)
	done := make(chan struct{})
	b, err := New(testConfig(2), func(m Inbound) {
		seq := binary.BigEndian.Uint64(m.Payload)
		if seq > 0 {
			<-gate
		}
		for i := 8; i < len(m.Payload); i++ { // seqPayload's padding; t.Fatal is not for this goroutine
			if m.Payload[i] != byte(seq)+byte(i) {
				t.Errorf("frame %d corrupt at byte %d", seq, i)
				break
			}
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seq)
		if len(got) == want {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	defer openGate.Do(func() { close(gate) })
	acfg := testConfig(1)
	acfg.SendQueueFrames = 4
	a := startNode(t, acfg)
	a.SetPeer(2, b.Addr().String())
	if err := a.Send(2, seqPayload(0, 8)); err != nil { // connects; goes through the owner loop
		t.Fatal(err)
	}
	waitStats(t, a.Transport, func(s Stats) bool { return s.FramesSent == 1 })
	const size = 100 << 10
	sent := 1
	for ; ; sent++ {
		err := a.SendInline(2, seqPayload(uint64(sent), size))
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent > 100000 {
			t.Fatal("Send never reported ErrQueueFull")
		}
	}
	s := a.Stats()
	if s.InlinePartial != 1 || s.InlineWrites == 0 {
		t.Fatalf("stats %+v: want inline writes, then exactly one partial one", s)
	}
	mu.Lock()
	want = sent
	mu.Unlock()
	openGate.Do(func() { close(gate) })
	select {
	case <-done:
	case <-time.After(overall):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("only %d of %d frames delivered", len(got), sent)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, seq := range got {
		if seq != uint64(i) {
			t.Fatalf("delivery %d is frame %d", i, seq)
		}
	}
	if s := b.Stats(); s.ChecksumErrors != 0 || s.FrameErrors != 0 {
		t.Fatalf("receiver stats %+v", s)
	}
	t.Logf("%d inline writes before the socket buffers filled; %d frames in all", s.InlineWrites, sent)
}
