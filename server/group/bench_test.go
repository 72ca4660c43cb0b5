package group

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/vsdb/vsdb/vsync"
)

// latencyApp hands its member's own deliveries (payload = 8-byte index) to the benchmark loop.
type latencyApp struct {
	*testApp
	self string
	own  chan uint64
}

func (a *latencyApp) Event(r *Responder, ev vsync.Event) {
	if ev.Kind == vsync.EventDeliver && ev.Delivery.Tag.Sender == a.self && len(ev.Delivery.Payload) == 8 {
		select {
		case a.own <- binary.BigEndian.Uint64(ev.Delivery.Payload):
		default:
		}
		return
	}
	a.testApp.Event(r, ev)
}

// BenchmarkOrderedSendLatency measures one-sender closed-loop OrderedSend latency (Multicast to own
// delivery) with three nodes in this process on loopback; the sender is node 2 (not the sequencer),
// so a delivery takes the three one-way hops of vsync/view.go. It reports p50 and p99.
func BenchmarkOrderedSendLatency(b *testing.B) {
	nodes, apps := startCluster(b, 3)
	defer func() {
		for _, nd := range nodes {
			_ = nd.Close()
		}
	}()
	waitFor(b, "a 3-member view", apps, viewOf(apps, 3))
	la := &latencyApp{testApp: newTestApp(), self: nodes[1].MemberID(), own: make(chan uint64, 16)}
	// Re-route node 2's events: the driver holds the app it was joined with, so wrap before use.
	d := nodes[1].driverOf("g")
	d.app = la // the driver reads d.app only on its goroutine; set before any multicast of this test
	ctx := context.Background()
	lats := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := nodes[1].Multicast(ctx, "g", vsync.FlavourOrdered, binary.BigEndian.AppendUint64(nil, uint64(i))); err != nil {
			b.Fatal(err)
		}
		for got := uint64(1<<64 - 1); got != uint64(i); got = <-la.own {
		}
		lats = append(lats, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
}
