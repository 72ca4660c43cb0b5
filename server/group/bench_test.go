package group

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
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

// countingApp counts ordered deliveries and closes done when it has seen want of them.
type countingApp struct {
	*testApp
	n    atomic.Uint64
	want uint64
	done chan struct{}
}

func (a *countingApp) Event(r *Responder, ev vsync.Event) {
	if ev.Kind == vsync.EventDeliver && ev.Delivery.Flavour == vsync.FlavourOrdered {
		if a.n.Add(1) == a.want {
			close(a.done)
		}
		return
	}
	a.testApp.Event(r, ev)
}

// BenchmarkOrderedSendThroughput: three nodes in this process on loopback, every node multicasting
// 16-byte OrderedSends in pipelined batches of 256 (as `vsdb bench vsync`); b.N is the messages each
// node sends, and the figure is deliveries per second at the slowest node. With -memprofile it shows
// what the delivery path allocates.
func BenchmarkOrderedSendThroughput(b *testing.B) {
	const senders, batch = 3, 256
	apps := make([]*countingApp, senders)
	tapps := make([]*testApp, senders)
	for i := range apps {
		tapps[i] = newTestApp()
		apps[i] = &countingApp{testApp: tapps[i], want: uint64(senders * b.N), done: make(chan struct{})}
	}
	nodes := startClusterWith(b, senders, func(i int) Application { return apps[i] })
	defer func() {
		for _, nd := range nodes {
			_ = nd.Close()
		}
	}()
	waitFor(b, "a 3-member view", tapps, viewOf(tapps, senders))
	ctx := context.Background()
	payload := make([]byte, 16)
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Go(func() {
			pls := make([][]byte, 0, batch)
			for sent := 0; sent < b.N; sent += len(pls) {
				pls = pls[:0]
				for j := 0; j < batch && sent+j < b.N; j++ {
					pls = append(pls, payload)
				}
				if _, err := nd.Multicast(ctx, "g", vsync.FlavourOrdered, pls...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, a := range apps {
		<-a.done
	}
	b.StopTimer()
	b.ReportMetric(float64(senders*b.N)/time.Since(t0).Seconds(), "deliveries/s")
}
