package group

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/vsdb/vsdb/vsync"
)

// BenchmarkOrderedSendLatency measures one-sender closed-loop OrderedSend latency (Multicast to own
// delivery) with three nodes in this process on loopback; the sender is node 2 (the sequencer is
// whichever member joined first, so a delivery takes two or three one-way hops). It reports p50 and
// p99. Without the cross-process wake-ups it is the floor of what `vsdb bench vsync` can show.
func BenchmarkOrderedSendLatency(b *testing.B) {
	nodes, apps := startCluster(b, 3)
	defer func() {
		for _, nd := range nodes {
			_ = nd.Close()
		}
	}()
	waitFor(b, "a 3-member view", apps, viewOf(apps, 3))
	la := apps[1]
	la.mu.Lock()
	la.own, la.self = make(chan uint64, 16), nodes[1].MemberID()
	la.mu.Unlock()
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
