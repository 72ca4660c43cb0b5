package peer

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// benchPair starts two connected transports, 1 and 2; deliver functions are given per node.
func benchPair(b *testing.B, d1, d2 func(Inbound)) (*Transport, *Transport) {
	b.Helper()
	start := func(id NodeID, d func(Inbound)) *Transport {
		tr, err := New(testConfig(id), d)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	t1, t2 := start(1, d1), start(2, d2)
	t1.SetPeer(2, t2.Addr().String())
	t2.SetPeer(1, t1.Addr().String())
	return t1, t2
}

// BenchmarkTransport measures two transports on loopback: one-way streams of 64-byte and 4 KiB payloads
// (frames/s and MB/s, with a window of 2048 frames in flight so the queue bound is never hit), and
// ping-pong round trips of a 64-byte payload (p50 one-way latency = p50 round trip / 2).
func BenchmarkTransport(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("stream/%dB", size), func(b *testing.B) { benchStream(b, size) })
	}
	b.Run("pingpong/64B", benchPingPong)
}

func benchStream(b *testing.B, size int) {
	const window = 2048
	tokens := make(chan struct{}, window)
	var got, target atomic.Int64
	target.Store(-1)
	ready, done := make(chan struct{}), make(chan struct{})
	t1, _ := benchPair(b, func(Inbound) {}, func(m Inbound) {
		<-tokens
		switch got.Add(1) {
		case 1:
			close(ready)
		case target.Load():
			close(done)
		}
	})
	payload := make([]byte, size)
	tokens <- struct{}{} // warm up: the connection is up once one frame made it
	if err := t1.Send(2, payload); err != nil {
		b.Fatal(err)
	}
	<-ready
	target.Store(int64(b.N) + 1)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		tokens <- struct{}{}
		if err := t1.Send(2, payload); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func benchPingPong(b *testing.B) {
	back := make(chan struct{}, 1)
	var t2p atomic.Pointer[Transport]
	t1, t2 := benchPair(b, func(Inbound) { back <- struct{}{} }, func(m Inbound) {
		if err := t2p.Load().Send(1, m.Payload); err != nil {
			panic(err)
		}
	})
	t2p.Store(t2)
	payload := make([]byte, 64)
	if err := t1.Send(2, payload); err != nil { // warm up
		b.Fatal(err)
	}
	<-back
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := t1.Send(2, payload); err != nil {
			b.Fatal(err)
		}
		<-back
		rtts = append(rtts, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(rtts)
	oneWayUs := func(q float64) float64 { return float64(rtts[int(q*float64(len(rtts)-1))].Nanoseconds()) / 2000 }
	b.ReportMetric(oneWayUs(0.50), "p50-oneway-µs")
	b.ReportMetric(oneWayUs(0.99), "p99-oneway-µs")
}
