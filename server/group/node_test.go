package group

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vsdb/vsdb/server/peer"
	"github.com/vsdb/vsdb/vsync"
)

// testApp records deliveries and views; its state (for state transfer) is its count of ordered
// deliveries, as 8 bytes.
type testApp struct {
	mu      sync.Mutex
	wake    chan struct{} // capacity 1: "something happened"
	views   []vsync.View
	deliv   []string // "view sender:seq payload"
	count   uint64   // ordered deliveries applied (restored by state transfer)
	loaded  []byte
	loadedN int // checkpoints loaded
	stopped error
	// own, if set, receives the 8-byte payloads (as integers) of deliveries sent by self, instead of
	// recording them (BenchmarkOrderedSendLatency).
	own  chan uint64
	self string
}

func newTestApp() *testApp { return &testApp{wake: make(chan struct{}, 1)} }

func (a *testApp) Event(r *Responder, ev vsync.Event) {
	a.mu.Lock()
	switch ev.Kind {
	case vsync.EventDeliver:
		d := ev.Delivery
		if a.own != nil && d.Tag.Sender == a.self && len(d.Payload) == 8 {
			a.mu.Unlock()
			a.own <- binary.BigEndian.Uint64(d.Payload)
			return
		}
		a.deliv = append(a.deliv, fmt.Sprintf("%d %s:%d %s", d.ViewID, d.Tag.Sender, d.Tag.Seq, d.Payload))
		if d.Flavour != vsync.FlavourSend {
			a.count++
		}
		if r.Query() {
			_ = r.Reply([]byte(r.Member().ID()))
		}
	case vsync.EventView:
		a.views = append(a.views, ev.View)
		if a.loaded != nil {
			a.count = binary.BigEndian.Uint64(a.loaded)
			a.loaded = nil
			a.loadedN++
		}
	case vsync.EventLoadChunk:
		if ev.ChunkSeq == 1 {
			a.loaded = nil
		}
		a.loaded = append(a.loaded, ev.Chunk...)
	case vsync.EventStopped:
		a.stopped = ev.Err
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *testApp) Checkpoint(vsync.View) (vsync.CheckpointSource, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return vsync.BytesCheckpoint(binary.BigEndian.AppendUint64(nil, a.count)), nil
}

// waitFor waits, woken by the apps' events (and a coarse 50 ms poll for conditions that depend on
// several apps), until cond holds; it fails the test after 20 s.
func waitFor(t testing.TB, what string, apps []*testApp, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-poll.C:
		case <-apps[0].wake:
		}
	}
}

func (a *testApp) lastView() vsync.View {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.views) == 0 {
		return vsync.View{}
	}
	return a.views[len(a.views)-1]
}

func (a *testApp) deliveries() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.deliv)
}

// startCluster starts n nodes on loopback (free ports), every one an oracle node, each joined to group
// "g" with a testApp.
func startCluster(t testing.TB, n int) ([]*Node, []*testApp) {
	t.Helper()
	apps := make([]*testApp, n)
	for i := range apps {
		apps[i] = newTestApp()
	}
	nodes := startClusterWith(t, n, func(i int) Application { return apps[i] })
	return nodes, apps
}

// startClusterWith starts n nodes on loopback, every one an oracle node, and joins node i to group "g"
// with app(i).
func startClusterWith(t testing.TB, n int, app func(i int) Application) []*Node {
	t.Helper()
	var oracle []peer.NodeID
	for i := 1; i <= n; i++ {
		oracle = append(oracle, peer.NodeID(i))
	}
	// Listen first on free ports, then tell every node the others' addresses.
	nodes := make([]*Node, n)
	for i := range nodes {
		nd, err := New(Config{Self: peer.NodeID(i + 1), ListenAddr: "127.0.0.1:0", Incarnation: 1,
			Oracle: oracle, Peers: placeholderPeers(oracle)})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = nd
	}
	for _, a := range nodes {
		for j, b := range nodes {
			if a != b {
				a.tr.SetPeer(peer.NodeID(j+1), b.Addr())
			}
		}
	}
	for i, nd := range nodes {
		if err := nd.Join("g", app(i)); err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// placeholderPeers gives every oracle node an address so Config validates; startCluster replaces
// them with the real ones once every node listens.
func placeholderPeers(ids []peer.NodeID) map[peer.NodeID]string {
	m := map[peer.NodeID]string{}
	for _, id := range ids {
		m[id] = "127.0.0.1:1"
	}
	return m
}

func viewOf(apps []*testApp, size int) func() bool {
	return func() bool {
		first := apps[0].lastView()
		if len(first.Members) != size {
			return false
		}
		for _, a := range apps[1:] {
			if a.lastView().ID != first.ID {
				return false
			}
		}
		return true
	}
}

// TestThreeNodesOrderedSendAgree: three nodes form a group over TCP, each multicasts OrderedSends and
// Sends, and every node delivers the same ordered sequence; a fourth node then joins and gets the
// delivery count by state transfer; Close leaves no goroutine behind.
func TestThreeNodesOrderedSendAgree(t *testing.T) {
	defer goleak.VerifyNone(t)
	nodes, apps := startCluster(t, 3)
	defer func() {
		for _, nd := range nodes {
			_ = nd.Close()
		}
	}()
	waitFor(t, "a 3-member view", apps, viewOf(apps, 3))
	ctx := context.Background()
	const perNode = 200
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perNode; k += 20 {
				var batch [][]byte
				for j := k; j < k+20; j++ {
					batch = append(batch, fmt.Appendf(nil, "n%d-%d", i+1, j))
				}
				if _, err := nd.Multicast(ctx, "g", vsync.FlavourOrdered, batch...); err != nil {
					t.Errorf("node %d: %v", i+1, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 3 * perNode
	waitFor(t, "every ordered delivery everywhere", apps, func() bool {
		for _, a := range apps {
			if len(a.deliveries()) < total {
				return false
			}
		}
		return true
	})
	want := apps[0].deliveries()
	for i, a := range apps[1:] {
		if got := a.deliveries(); !slices.Equal(got, want) {
			t.Fatalf("node %d delivered a different sequence than node 1:\n%v\nvs\n%v", i+2, got[:10], want[:10])
		}
	}
	// Query ALL: every member answers with its id.
	res, err := nodes[1].Query(ctx, "g", vsync.FlavourOrdered, []byte("who"), vsync.ReplyAll, 0)
	if err != nil || len(res.Replies) != 3 {
		t.Fatalf("query: %+v, %v", res, err)
	}
	if _, err := nodes[2].Flush(ctx, "g", 0); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// TestConfigValidate lists what Validate rejects.
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{Self: 1, ListenAddr: "x", Incarnation: 1, Oracle: []peer.NodeID{1}}, true},
		{"no self", Config{ListenAddr: "x", Incarnation: 1, Oracle: []peer.NodeID{1}}, false},
		{"no incarnation", Config{Self: 1, ListenAddr: "x", Oracle: []peer.NodeID{1}}, false},
		{"oracle without address", Config{Self: 1, ListenAddr: "x", Incarnation: 1, Oracle: []peer.NodeID{1, 2}}, false},
		{"six oracles", Config{Self: 1, ListenAddr: "x", Incarnation: 1, Oracle: []peer.NodeID{1, 2, 3, 4, 5, 6},
			Peers: map[peer.NodeID]string{2: "a", 3: "a", 4: "a", 5: "a", 6: "a"}}, false},
		{"duplicate oracle", Config{Self: 1, ListenAddr: "x", Incarnation: 1, Oracle: []peer.NodeID{1, 1}}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}

// TestAddresses covers member ids and replica addresses both ways, and the flag parsers.
func TestAddresses(t *testing.T) {
	if id, err := nodeOfMember(MemberID(7, 42)); err != nil || id != 7 {
		t.Fatalf("nodeOfMember = %d, %v", id, err)
	}
	if id, err := nodeOfReplica(ReplicaAddr(3)); err != nil || id != 3 {
		t.Fatalf("nodeOfReplica = %d, %v", id, err)
	}
	for _, bad := range []string{"", "x1#2", "n#1", "n0#1", "o1#1"} {
		if _, err := nodeOfMember(bad); err == nil {
			t.Errorf("nodeOfMember(%q) accepted", bad)
		}
	}
	p, err := ParsePeers("1=a:1, 2=b:2")
	if err != nil || p[1] != "a:1" || p[2] != "b:2" {
		t.Fatalf("ParsePeers = %v, %v", p, err)
	}
	if _, err := ParsePeers("1"); err == nil {
		t.Fatal("ParsePeers accepted 1")
	}
	l, err := ParseNodeList("1,2,3")
	if err != nil || !slices.Equal(l, []peer.NodeID{1, 2, 3}) {
		t.Fatalf("ParseNodeList = %v, %v", l, err)
	}
}

// TestJoinStateTransferAndFailure: a fourth node joins a 3-node group after some ordered traffic and
// loads the delivery count from the checkpoint; then a node is closed (a crash to the others) and the
// survivors install a view without it.
func TestJoinStateTransferAndFailure(t *testing.T) {
	defer goleak.VerifyNone(t)
	nodes, apps := startCluster(t, 3)
	defer func() {
		for _, nd := range nodes {
			_ = nd.Close()
		}
	}()
	waitFor(t, "a 3-member view", apps, viewOf(apps, 3))
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if _, err := nodes[i%3].OrderedSend(ctx, "g", fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "50 deliveries", apps, func() bool { return len(apps[2].deliveries()) >= 50 })

	n4, err := New(Config{Self: 4, ListenAddr: "127.0.0.1:0", Incarnation: 1, Oracle: []peer.NodeID{1, 2, 3},
		Peers: map[peer.NodeID]string{1: nodes[0].Addr(), 2: nodes[1].Addr(), 3: nodes[2].Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	nodes = append(nodes, n4)
	for _, nd := range nodes[:3] {
		nd.tr.SetPeer(4, n4.Addr())
	}
	a4 := newTestApp()
	apps = append(apps, a4)
	if err := n4.Join("g", a4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a 4-member view", apps, viewOf(apps, 4))
	a4.mu.Lock()
	count, loaded := a4.count, a4.loadedN
	a4.mu.Unlock()
	if loaded != 1 || count != 50 {
		t.Fatalf("joiner loaded %d checkpoints with count %d, want 1 with 50", loaded, count)
	}

	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	survivors := []*testApp{apps[0], apps[2], apps[3]}
	waitFor(t, "a 3-member view without node 2", survivors, viewOf(survivors, 3))
	for _, m := range apps[0].lastView().Members {
		if n, _ := nodeOfMember(m); n == 2 {
			t.Fatalf("view %v still has node 2", apps[0].lastView())
		}
	}
}
