package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vsdb/vsdb/dht"
	"github.com/vsdb/vsdb/server"
	"github.com/vsdb/vsdb/server/peer"
)

// Limits of the request for a cluster's join information.
const (
	joinTimeout      = 5 * time.Second
	maxJoinInfoBytes = 1 << 20
)

// joinOwnedFlags are the cluster settings `--join` takes from the cluster: setting one as well is an
// error (the DHT parameters must be identical on every member).
var joinOwnedFlags = []string{"cluster-peers", "cluster-oracle", "cluster-rf", "cluster-expected-size", "cluster-min-size"}

// fetchJoinInfo asks a cluster node's HTTP endpoint (host:port) for its join information; password is
// the cluster's requirepass ("" for none).
func fetchJoinInfo(ctx context.Context, addr, password string) (server.JoinInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/cluster/config", nil)
	if err != nil {
		return server.JoinInfo{}, fmt.Errorf("join %s: %w", addr, err)
	}
	if password != "" {
		req.Header.Set("Authorization", "Bearer "+password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return server.JoinInfo{}, fmt.Errorf("join %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return server.JoinInfo{}, fmt.Errorf("join %s: %s", addr, resp.Status)
	}
	var info server.JoinInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJoinInfoBytes)).Decode(&info); err != nil {
		return server.JoinInfo{}, fmt.Errorf("join %s: %w", addr, err)
	}
	return info, nil
}

// applyJoin fills cc (Self and PeerAddr set) with what info says of the cluster: every peer, the
// membership service, the group and the DHT parameters. A node id already taken by another address is
// refused.
func applyJoin(cc *server.ClusterConfig, info server.JoinInfo) error {
	var errs []error
	peers := map[peer.NodeID]string{}
	for k, addr := range info.Peers {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil || id == 0 || addr == "" {
			errs = append(errs, fmt.Errorf("join: peer %q=%q is not id=host:port", k, addr))
			continue
		}
		peers[peer.NodeID(id)] = addr
	}
	if addr, ok := peers[cc.Self]; ok && addr != cc.PeerAddr {
		errs = append(errs, fmt.Errorf("join: node id %d is taken by %s in the cluster (this node's peer address is %s): choose a free --cluster-node", cc.Self, addr, cc.PeerAddr))
	}
	var oracle []peer.NodeID
	for _, id := range info.Oracle {
		if id <= 0 || peers[peer.NodeID(id)] == "" {
			errs = append(errs, fmt.Errorf("join: membership node %d has no peer address", id))
			continue
		}
		oracle = append(oracle, peer.NodeID(id))
	}
	if len(oracle) == 0 {
		errs = append(errs, errors.New("join: the cluster names no membership node"))
	}
	p := dht.Params{RF: info.RF, ExpectedGroupSize: info.ExpectedGroupSize, MinGroupSize: info.MinGroupSize}
	if err := p.WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("join: the cluster's DHT parameters: %w", err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	peers[cc.Self] = cc.PeerAddr
	slices.Sort(oracle)
	cc.Peers, cc.Oracle, cc.DHT, cc.Group = peers, oracle, p, info.Group
	return nil
}
