package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/server"
	"github.com/vsdb/vsdb/server/peer"

	"github.com/vsdb/vsdb/protocol/nettest"
)

// openClusterNode opens an embedded clustered node with RESP and HTTP on free ports.
func openClusterNode(t *testing.T, cc *server.ClusterConfig) *server.Node {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Port, cfg.HTTPPort, cfg.Cluster = 0, 0, cc
	nd, err := server.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("node %d: %v", cc.Self, err)
	}
	t.Cleanup(func() { _ = nd.Close() })
	return nd
}

// TestJoinFromARunningCluster: a fourth node that knows only one node's HTTP address takes the peers,
// the membership nodes and the DHT parameters from it (GET /v1/cluster/config), joins, and serves;
// a join with a taken node id is refused before anything starts.
func TestJoinFromARunningCluster(t *testing.T) {
	addrs := nettest.LoopbackAddrs(t, 4)
	peers := map[peer.NodeID]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	params := dht.Params{RF: 3, ExpectedGroupSize: 3}
	var nodes []*server.Node
	for id := peer.NodeID(1); id <= 3; id++ {
		nodes = append(nodes, openClusterNode(t, &server.ClusterConfig{Self: id, PeerAddr: peers[id], Peers: peers,
			Oracle: []peer.NodeID{1, 2, 3}, Incarnation: 1, DHT: params}))
	}
	info, err := fetchJoinInfo(context.Background(), nodes[1].HTTPAddr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Peers) != 3 || len(info.Oracle) != 3 || info.RF != 3 || info.Group != "dht" {
		t.Fatalf("join info %+v", info)
	}
	taken := &server.ClusterConfig{Self: 2, PeerAddr: addrs[3]}
	if err := applyJoin(taken, info); err == nil || !strings.Contains(err.Error(), "node id 2 is taken") {
		t.Fatalf("joining with a taken id: %v", err)
	}
	cc := &server.ClusterConfig{Self: 4, PeerAddr: addrs[3], Incarnation: 1}
	if err := applyJoin(cc, info); err != nil {
		t.Fatal(err)
	}
	if len(cc.Peers) != 4 || cc.DHT.RF != 3 || cc.DHT.ExpectedGroupSize != 3 || len(cc.Oracle) != 3 {
		t.Fatalf("joiner's config %+v", cc)
	}
	joiner := openClusterNode(t, cc)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: joiner.Addr().String(), Protocol: 2, MaxRetries: -1})
	defer c.Close()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		l, _ := joiner.ClusterLayout()
		members := 0
		for _, m := range l.Placement {
			if m != "" {
				members++
			}
		}
		if members == 4 && c.Set(ctx, "joined", "yes", 0).Err() == nil {
			break
		}
		select {
		case <-deadline.C:
			t.Fatalf("the joiner did not join: layout %+v", l)
		case <-poll.C:
		}
	}
	c1 := redis.NewClient(&redis.Options{Addr: nodes[0].Addr().String(), Protocol: 2, MaxRetries: -1})
	defer c1.Close()
	if v, err := c1.Get(ctx, "joined").Result(); err != nil || v != "yes" {
		t.Fatalf("GET at node 1 of the joiner's write = %q, %v", v, err)
	}
}

// TestJoinFlags: --join refuses the settings it takes from the cluster, and needs a peer address.
func TestJoinFlags(t *testing.T) {
	_, err := loadServerConfig(flagsFor(t, "--cluster-node", "4", "--cluster-peer-addr", "127.0.0.1:1",
		"--join", "127.0.0.1:2", "--cluster-rf", "2", "--cluster-peers", "1=127.0.0.1:3"))
	if err == nil {
		t.Fatal("--join with cluster-rf and cluster-peers accepted")
	}
	for _, want := range []string{"cluster-rf: set, but --join", "cluster-peers: set, but --join"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := loadServerConfig(flagsFor(t, "--cluster-node", "4", "--join", "127.0.0.1:2")); err == nil ||
		!strings.Contains(err.Error(), "cluster-peer-addr") {
		t.Fatalf("--join without a peer address: %v", err)
	}
}
